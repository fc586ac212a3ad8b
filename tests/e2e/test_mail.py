"""Account email and password reset by mail, end to end: ``passgate serve`` nodes, a real SMTP
server (aiosmtpd, its own process) and Redis; every mail is read where the SMTP server saved it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.e2e.api import assert_problem, bearer, login, new_name, tokens
from tests.nodes import Node, wait_until
from tests.servers import RedisServer, SmtpServer

Nodes = Callable[..., Node]
PASSWORD = "correct horse"


@pytest.fixture
def pair(nodes: Nodes, smtp_server: SmtpServer, make_redis_server: Callable[..., RedisServer]) -> list[Node]:
    """Two nodes of one deployment: one database (SQLite in a shared data dir), one Redis, one SMTP server."""
    redis = make_redis_server()
    return [nodes("--store", redis.url, "--smtp-url", smtp_server.url) for _ in range(2)]


def mail_to(server: SmtpServer, address: str, *, count: int = 1) -> list[EmailMessage]:
    """The mails to ``address``, once ``count`` of them have arrived."""
    def arrived() -> bool:
        return len([m for m in server.messages() if m["To"] == address]) >= count

    wait_until(arrived, 15.0)
    return [m for m in server.messages() if m["To"] == address]


def link_of(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (link,) = [word for word in text.split() if "?token=" in word]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{link}"' in html
    return str(link)


def token_of(link: str) -> str:
    return link.split("?token=", 1)[1]


def new_address() -> str:
    return f"{new_name()}@example.test"


def registered(client: httpx.Client, server: SmtpServer, *, verified: bool = True) -> tuple[str, str]:
    """A new account with an address (verified through its mailed link unless told not to)."""
    name, address = new_name(), new_address()
    created = client.post("/api/users", json={"username": name, "password": PASSWORD, "email": address})
    assert created.status_code == 201, created.text
    if verified:
        (mail,) = mail_to(server, address)
        assert client.post("/api/email/verify", json={"token": token_of(link_of(mail))}).status_code == 204
    return name, address


def test_register_with_an_address_and_its_link_verifies_it(pair: list[Node], smtp_server: SmtpServer) -> None:
    one, two = (node.client() for node in pair)
    with one, two:
        name, address = new_name(), new_address()
        created = one.post("/api/users", json={"username": name, "password": PASSWORD, "email": address})
        assert created.status_code == 201
        assert created.json()["email"] == address and created.json()["email_verified"] is False
        session = login(one, name)
        assert one.get("/api/me", headers=session.headers()).json()["email_verified"] is False
        (mail,) = mail_to(smtp_server, address)
        assert mail["Subject"] == "Confirm your email address"
        link = link_of(mail)
        assert link.startswith(f"{pair[0].url}/verify?token=") and len(token_of(link)) == 43
        assert two.post("/api/email/verify", json={"token": token_of(link)}).status_code == 204
        def me() -> dict[str, object]:
            body: dict[str, object] = one.get("/api/me", headers=session.headers()).json()
            return body

        wait_until(lambda: me()["email_verified"] is True, 2.0)  # another node: within its 1 s cache
        assert me()["email"] == address
        again = two.post("/api/email/verify", json={"token": token_of(link)})
        assert_problem(again, 400, "token_invalid")


def test_forgot_then_reset_ends_every_login_on_every_node(pair: list[Node], smtp_server: SmtpServer) -> None:
    one, two = (node.client() for node in pair)
    with one, two:
        name, address = registered(one, smtp_server)
        cookie, pair_tokens = login(one, name), tokens(two, name)
        assert one.post("/api/password/forgot", json={"email": address}).status_code == 202
        (_, mail) = mail_to(smtp_server, address, count=2)
        assert mail["Subject"] == "Reset your password"
        link = link_of(mail)
        assert link.startswith(f"{pair[0].url}/reset?token=")
        reset = two.post("/api/password/reset", json={"token": token_of(link), "new_password": "a new passphrase"})
        assert reset.status_code == 204
        for client in (one, two):
            def refused(c: httpx.Client = client) -> bool:
                return (c.get("/api/me", headers=cookie.headers()).status_code == 401
                        and c.get("/api/me", headers=bearer(pair_tokens["access_token"])).status_code == 401)

            wait_until(refused, 1.0)
        refreshed = one.post("/api/token/refresh", json={"refresh_token": pair_tokens["refresh_token"]})
        assert refreshed.status_code == 401
        old = two.post("/api/session", json={"username": name, "password": PASSWORD})
        assert_problem(old, 401, "invalid_credentials")
        assert one.post("/api/session", json={"username": name, "password": "a new passphrase"}).status_code == 200
        again = one.post("/api/password/reset", json={"token": token_of(link), "new_password": "third passphrase"})
        assert_problem(again, 400, "token_invalid")
        assert two.post("/api/session", json={"username": name, "password": "third passphrase"}).status_code == 401
        for node in pair:
            assert token_of(link) not in node.log()  # no token in any log


def test_an_unknown_address_gets_the_same_answer_and_no_mail(pair: list[Node], smtp_server: SmtpServer) -> None:
    with pair[0].client() as client:
        _, known = registered(client, smtp_server)
        _, unverified = registered(client, smtp_server, verified=False)
        mail_to(smtp_server, unverified)  # its verification mail
        unknown = new_address()
        answers = [client.post("/api/password/forgot", json={"email": a}) for a in (unknown, unverified, known)]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert len({(a.content, tuple(sorted((k, v) for k, v in a.headers.items() if k != "date")))
                    for a in answers}) == 1
        mail_to(smtp_server, known, count=2)  # the reset mail: it was asked for last
        assert [m for m in smtp_server.messages() if m["To"] == unknown] == []
        assert len([m for m in smtp_server.messages() if m["To"] == unverified]) == 1  # its verification only



def test_a_forged_host_never_reaches_the_mailed_link(pair: list[Node], smtp_server: SmtpServer) -> None:
    # Host-header poisoning: a reset asked with the attacker's Host must not mail the victim a link to it.
    with pair[0].client() as client:
        _, address = registered(client, smtp_server)
        asked = client.post("/api/password/forgot", json={"email": address},
                            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        assert asked.status_code == 202
        link = link_of(mail_to(smtp_server, address, count=2)[-1])
        assert "evil.example" not in link and link.startswith("http://127.0.0.1:")

def test_the_link_dies_after_its_lifetime(nodes: Nodes, smtp_server: SmtpServer) -> None:
    node = nodes("--smtp-url", smtp_server.url, "--mail-token-ttl", "3s", data_dir=None)
    with node.client() as client:
        _, address = registered(client, smtp_server)
        asked = time.monotonic()
        assert client.post("/api/password/forgot", json={"email": address}).status_code == 202
        (_, mail) = mail_to(smtp_server, address, count=2)
        time.sleep(max(0.0, asked + 3.5 - time.monotonic()))
        late = client.post("/api/password/reset", json={"token": token_of(link_of(mail)), "new_password": "too late!"})
        assert_problem(late, 400, "token_expired")


def outbox(node: Node) -> list[tuple[str, int]]:
    with sqlite3.connect(node.data_dir / "passgate.db") as db:
        return list(db.execute("SELECT state, attempts FROM mail_outbox WHERE kind = 'reset'"))


def test_a_reset_asked_while_the_mail_server_is_down_is_mailed_once_it_is_back(
        pair: list[Node], smtp_server: SmtpServer) -> None:
    with pair[0].client() as client:
        _, address = registered(client, smtp_server)
        smtp_server.kill()
        assert client.post("/api/password/forgot", json={"email": address}).status_code == 202
        wait_until(lambda: bool(outbox(pair[0])) and outbox(pair[0])[0][1] >= 2, 10.0)  # tried twice, still held
        assert outbox(pair[0])[0][0] == "pending"
        smtp_server.start()
        wait_until(lambda: outbox(pair[0])[0][0] == "sent", 20.0)
        time.sleep(2)  # both nodes poll every second: a second copy would be out by now
        assert len(mail_to(smtp_server, address, count=2)) == 2  # the verification and one reset
        assert outbox(pair[0]) == [("sent", outbox(pair[0])[0][1])]


def test_mail_requests_are_limited_per_address_across_nodes(pair: list[Node], smtp_server: SmtpServer) -> None:
    one, two = (node.client() for node in pair)
    with one, two:
        address = new_address()  # unknown or known, the count is the same
        answers = [(one if n % 2 else two).post("/api/password/forgot", json={"email": address}) for n in range(6)]
        assert [a.status_code for a in answers] == [202] * 5 + [429]
        assert int(answers[-1].headers["retry-after"]) > 0


def test_a_verified_address_belongs_to_one_account(pair: list[Node], smtp_server: SmtpServer) -> None:
    with pair[0].client() as client:
        _, address = registered(client, smtp_server)
        other, _ = registered(client, smtp_server)
        session = login(client, other)
        wrong = client.put("/api/me/email", json={"email": address, "password": "wrong password"},
                           headers=session.headers())
        assert_problem(wrong, 403, "invalid_credentials")
        claim = client.put("/api/me/email", json={"email": address, "password": PASSWORD}, headers=session.headers())
        assert claim.status_code == 202 and claim.json() == {"email": address, "email_verified": False}
        no_csrf = client.put("/api/me/email", json={"email": address, "password": PASSWORD},
                             headers=session.headers(csrf=False))
        assert_problem(no_csrf, 403, "csrf_failed")
        mails = mail_to(smtp_server, address, count=2)
        assert_problem(client.post("/api/email/verify", json={"token": token_of(link_of(mails[-1]))}), 409,
                       "email_taken")


def test_bad_bodies_get_problems(pair: list[Node]) -> None:
    with pair[0].client() as client:
        assert_problem(client.post("/api/password/forgot", json={"email": "not an address"}), 422, "validation_failed")
        assert_problem(client.post("/api/password/forgot", json={"email": 5}), 422, "validation_failed")
        assert_problem(client.post("/api/password/reset", json={"token": "x" * 43, "new_password": "short"}), 422)
        assert_problem(client.post("/api/password/reset", json={"token": "x" * 43, "new_password": "long enough"}),
                       400, "token_invalid")
        assert_problem(client.post("/api/email/verify", json={"token": "\u0000" * 2000}), 400, "token_invalid")
        assert_problem(client.post("/api/users", json={"username": new_name(), "password": PASSWORD,
                                                       "email": "a\r\nBcc: x@y.z"}), 422, "validation_failed")


def test_without_a_mail_server_mail_is_unavailable(nodes: Nodes, tmp_path: Path) -> None:
    node = nodes(data_dir=tmp_path / "no-mail")
    with node.client() as client:
        name = new_name()
        refused = client.post("/api/users", json={"username": name, "password": PASSWORD, "email": new_address()})
        assert_problem(refused, 503, "mail_unavailable")
        assert client.post("/api/users", json={"username": name, "password": PASSWORD}).status_code == 201
        assert_problem(client.post("/api/password/forgot", json={"email": new_address()}), 503, "mail_unavailable")


def test_an_admin_sets_a_verified_address(pair: list[Node], smtp_server: SmtpServer) -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.nodes import FAST_HASHING

    with pair[0].client() as client:
        name, _ = registered(client, smtp_server, verified=False)
        address = new_address()
        done = subprocess.run(
            [sys.executable, "-m", "passgate.cli", "user", "email", name, address, "--data-dir", str(pair[0].data_dir)],
            capture_output=True, text=True, env={**os.environ, **FAST_HASHING}, timeout=60, check=True,
        )
        assert json.loads(done.stdout) == {"username": name, "email": address, "email_verified": True}
        assert client.post("/api/password/forgot", json={"email": address}).status_code == 202
        assert mail_to(smtp_server, address)[0]["Subject"] == "Reset your password"
        audit = [line for line in pair[0].log().splitlines() if "passgate.audit" in line]
        assert any('"event":"password_reset_requested"' in line for line in audit)


def test_log_mail_is_for_development_and_says_so(nodes: Nodes, tmp_path: Path) -> None:
    node = nodes("--smtp-url", "log://", data_dir=tmp_path / "log-mail")
    with node.client() as client:
        name, address = new_name(), new_address()
        assert client.post("/api/users", json={"username": name, "password": PASSWORD, "email": address}).status_code \
            == 201
        wait_until(lambda: f"to {address}" in node.log(), 10.0)
    log = node.log()
    assert "mail goes through log:// (mail is written to the log, links included: for development only)" in log
    assert f"{node.url}/verify?token=" in log and PASSWORD not in log


def test_setting_the_verified_address_again_keeps_it_and_a_limited_signup_makes_no_account(
        pair: list[Node], smtp_server: SmtpServer) -> None:
    with pair[0].client() as client:
        name, address = registered(client, smtp_server)
        session = login(client, name)
        again = client.put("/api/me/email", json={"email": address.upper(), "password": PASSWORD},
                           headers=session.headers())
        assert again.status_code == 202 and again.json() == {"email": address, "email_verified": True}
        busy = new_address()
        for _ in range(5):
            assert client.post("/api/password/forgot", json={"email": busy}).status_code == 202
        late = new_name()
        refused = client.post("/api/users", json={"username": late, "password": PASSWORD, "email": busy})
        assert_problem(refused, 429, "rate_limited")
        assert client.post("/api/users", json={"username": late, "password": PASSWORD}).status_code == 201
