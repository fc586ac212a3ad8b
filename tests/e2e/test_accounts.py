"""Accounts: a password change ends the other logins, deletion, the admin commands, the login cap."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Callable

import httpx

from tests.e2e.api import Session, assert_problem, bearer, cookie_value, login, register, tokens
from tests.nodes import Node

NODE_ARGS = ("--login-limit", "1000/5m")  # one `passgate serve` for the module (tests/e2e/conftest.py)


def test_password_change_ends_the_other_logins(client: httpx.Client, node: Node) -> None:
    name, old = register(client)
    mine, other = login(client, name), login(client, name)
    pair = tokens(client, name)
    change = {"current_password": old, "new_password": "a brand new one"}
    changed = client.put("/api/me/password", json=change, headers=mine.headers())
    assert changed.status_code == 204
    mine = renewed(client, mine, changed)
    assert client.get("/api/me", headers=mine.headers()).status_code == 200
    assert_problem(client.get("/api/me", headers=other.headers()), 401)
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert_problem(client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}), 401)
    assert_problem(client.post("/api/session", json={"username": name, "password": old}), 401)
    assert client.post("/api/session", json={"username": name, "password": "a brand new one"}).status_code == 200
    audit = [json.loads(line.split(" passgate.audit ", 1)[1]) for line in node.log().splitlines()
             if " passgate.audit " in line and "password_changed" in line]
    me = client.get("/api/me", headers=mine.headers()).json()
    assert {"event": "password_changed", "user_id": me["id"], "revoked": 2} in audit
    assert old not in node.log() and "a brand new one" not in node.log()


def renewed(client: httpx.Client, before: Session, answer: httpx.Response) -> Session:
    """The session after a password change: the same login, with a new session id in a new cookie
    (ASVS 7.2.4), and the same CSRF token; the old cookie is dead."""
    after = Session(cookie_value(answer), before.csrf, before.id)
    assert after.cookie != before.cookie
    assert_problem(client.get("/api/me", headers=before.headers()), 401)
    assert client.get("/api/me", headers=after.headers()).json()["session_id"] == before.id
    return after


def test_a_password_change_gives_the_session_a_new_id(client: httpx.Client) -> None:
    name, old = register(client)
    mine = login(client, name)
    changed = client.put("/api/me/password", json={"current_password": old, "new_password": "a brand new one"},
                         headers=mine.headers())
    assert changed.status_code == 204
    assert "Secure" in changed.headers["set-cookie"] and "HttpOnly" in changed.headers["set-cookie"]
    mine = renewed(client, mine, changed)
    posted = client.post("/api/posts", json={"title": "still here", "body": "after the change"},
                         headers=mine.headers())
    assert posted.status_code == 201, posted.text


def test_logins_racing_a_password_change_end_with_it(node: Node) -> None:
    """Token logins with the old password sent while the password changes: none of those that
    succeeded outlives the change (each was either listed and revoked, or found the account
    changed and was refused)."""
    with node.client() as client:
        name, old = register(client)
        mine = tokens(client, name)
    for _ in range(3):
        new = "another " + secrets.token_hex(4)
        answers = asyncio.run(_race(node, name, old, new, bearer(mine["access_token"])))
        won = [a for a in answers if a.status_code == 200]
        assert all(a.status_code in (200, 401) for a in answers), [a.text for a in answers]
        with node.client() as client:
            for answer in won:
                refresh = {"refresh_token": answer.json()["refresh_token"]}
                assert_problem(client.post("/api/token/refresh", json=refresh), 401)
                assert_problem(client.get("/api/me", headers=bearer(answer.json()["access_token"])), 401)
        old = new


async def _race(node: Node, name: str, old: str, new: str, me: dict[str, str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
        logins = [client.post("/api/token", json={"username": name, "password": old}) for _ in range(12)]
        change = client.put("/api/me/password", json={"current_password": old, "new_password": new}, headers=me)
        *answers, changed = await asyncio.gather(*logins, change)
    assert changed.status_code == 204, changed.text
    return answers


def test_password_change_from_a_token_keeps_that_token(client: httpx.Client) -> None:
    name, old = register(client)
    session, pair = login(client, name), tokens(client, name)
    change = {"current_password": old, "new_password": "a brand new one"}
    assert client.put("/api/me/password", json=change, headers=bearer(pair["access_token"])).status_code == 204
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    assert_problem(client.get("/api/me", headers=session.headers()), 401)


def test_password_change_refusals(client: httpx.Client) -> None:
    name, old = register(client)
    mine, other = login(client, name), login(client, name)
    wrong = client.put("/api/me/password", json={"current_password": "not it at all", "new_password": "whatever9"},
                       headers=mine.headers())
    assert_problem(wrong, 403, "invalid_credentials")
    no_csrf = client.put("/api/me/password", json={"current_password": old, "new_password": "whatever9"},
                         headers=mine.headers(csrf=False))
    assert_problem(no_csrf, 403, "csrf_failed")
    short = client.put("/api/me/password", json={"current_password": old, "new_password": "short"},
                       headers=mine.headers())
    assert_problem(short, 422, "validation_failed")
    assert client.get("/api/me", headers=other.headers()).status_code == 200  # nothing revoked


def test_delete_account(client: httpx.Client) -> None:
    name, password = register(client)
    session, pair = login(client, name), tokens(client, name)
    post = client.post("/api/posts", json={"title": "left behind"}, headers=session.headers()).json()
    assert_problem(client.request("DELETE", "/api/me", json={"password": "wrong password"},
                                  headers=session.headers()), 403, "invalid_credentials")
    deleted = client.request("DELETE", "/api/me", json={"password": password}, headers=session.headers())
    assert deleted.status_code == 204
    assert_problem(client.get("/api/me", headers=session.headers()), 401)
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert client.get(f"/api/posts/{post['id']}").json()["author"] == {"id": None, "username": None}
    assert client.post("/api/users", json={"username": name, "password": password}).status_code == 201


def test_max_logins_evicts_the_oldest(nodes: Callable[..., Node]) -> None:
    node = nodes("--max-logins", "2")
    with node.client() as client:
        name, _ = register(client)
        first, second = login(client, name), tokens(client, name)
        third = login(client, name)
        assert_problem(client.get("/api/me", headers=first.headers()), 401)
        assert client.get("/api/me", headers=bearer(second["access_token"])).status_code == 200
        listed = client.get("/api/sessions", headers=third.headers()).json()
        assert len(listed) == 2 and first.id not in {entry["id"] for entry in listed}


def _cli(node: Node, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(node.data_dir)],
        input=stdin, capture_output=True, text=True, env=node.env, timeout=60, check=False,
    )


def test_admin_password_reset_and_delete(client: httpx.Client, node: Node) -> None:
    name, _ = register(client)
    session, pair = login(client, name), tokens(client, name)
    result = _cli(node, "user", "password", name, stdin="reset by admin\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["revoked"] == 2
    assert "reset by admin" not in result.stdout + result.stderr
    assert_problem(client.get("/api/me", headers=session.headers()), 401)
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert client.post("/api/session", json={"username": name, "password": "reset by admin"}).status_code == 200
    assert _cli(node, "user", "delete", name).returncode == 0
    assert_problem(client.post("/api/session", json={"username": name, "password": "reset by admin"}), 401)
    missing = _cli(node, "user", "delete", name)
    assert missing.returncode == 2 and "no user" in missing.stderr


def test_an_admin_disables_and_enables_accounts_and_gives_roles_over_the_api(
    client: httpx.Client, node: Node
) -> None:
    admin, _ = register(client)
    assert _cli(node, "user", "role", "add", admin, "admin").returncode == 0
    boss = tokens(client, admin)
    name, password = register(client)
    theirs, pair = login(client, name), tokens(client, name)
    as_them = client.post(f"/api/admin/users/{admin}/disable", headers=bearer(pair["access_token"]))
    assert_problem(as_them, 403, "forbidden")  # not an admin
    assert_problem(client.post(f"/api/admin/users/{name}/disable"), 401)
    disabled = client.post(f"/api/admin/users/{name}/disable", headers=bearer(boss["access_token"]))
    assert disabled.json() == {"username": name, "disabled": True, "revoked": 2}
    assert_problem(client.get("/api/me", headers=theirs.headers()), 401)
    assert_problem(client.post("/api/session", json={"username": name, "password": password}), 403, "account_disabled")
    assert client.post(f"/api/admin/users/{name}/enable", headers=bearer(boss["access_token"])).status_code == 200
    assert client.post("/api/session", json={"username": name, "password": password}).status_code == 200
    granted = client.put(f"/api/admin/users/{name}/roles/moderator", headers=bearer(boss["access_token"]))
    assert granted.json() == {"username": name, "roles": ["moderator"]}
    taken = client.delete(f"/api/admin/users/{name}/roles/moderator", headers=bearer(boss["access_token"]))
    assert taken.json() == {"username": name, "roles": []}
    assert_problem(client.put(f"/api/admin/users/{name}/roles/no%20spaces", headers=bearer(boss["access_token"])),
                   422, "validation_failed")
    assert_problem(client.post("/api/admin/users/nobody-here/disable", headers=bearer(boss["access_token"])), 404)
