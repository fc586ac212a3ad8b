"""Token authentication end to end: access and refresh tokens, revocation, keys, several nodes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from passgate.credentials.keys import new_signing_key
from tests.e2e.api import assert_problem, bearer, login, register, tokens
from tests.nodes import FAST_HASHING, SHARED_SECRET, Node, wait_until
from tests.servers import RedisServer

RACE_WINDOW = 2.0
# One `passgate serve` for the module (tests/e2e/conftest.py).
NODE_ARGS = ("--login-limit", "1000/5m", "--refresh-race-window", f"{RACE_WINDOW:g}s")


def _segments(token: str) -> tuple[dict[str, object], dict[str, object]]:
    header, payload, _ = token.split(".")

    def decode(part: str) -> dict[str, object]:
        value: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return value

    return decode(header), decode(payload)


def test_token_shape_and_size(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    assert pair["token_type"] == "Bearer"
    assert 0 < int(pair["expires_in"]) <= 600  # type: ignore[call-overload]
    header, claims = _segments(str(pair["access_token"]))
    assert set(header) == {"alg", "typ", "kid"} and header["typ"] == "at+jwt" and header["alg"] == "EdDSA"
    assert set(claims) == {"iss", "aud", "sub", "exp", "iat", "jti", "sid"}
    assert claims["aud"] == "passgate"
    size = len(str(pair["access_token"]))
    print(f"access token: {size} bytes")
    assert size < 400


def test_login_post_refresh_replay(client: httpx.Client) -> None:
    name, _ = register(client)
    first = tokens(client, name)
    post = client.post("/api/posts", json={"title": "by token"}, headers=bearer(first["access_token"]))
    assert post.status_code == 201 and post.json()["author"]["username"] == name
    second = client.post("/api/token/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/me", headers=bearer(second["access_token"])).json()["auth"] == "token"
    time.sleep(RACE_WINDOW + 0.5)  # past the race window: the replay is theft
    replay = client.post("/api/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(replay, 401, "refresh_reused")
    assert "www-authenticate" in replay.headers
    assert_problem(client.get("/api/me", headers=bearer(second["access_token"])), 401)
    assert_problem(client.post("/api/token/refresh", json={"refresh_token": second["refresh_token"]}), 401)


def test_a_client_racing_itself_is_not_logged_out(client: httpx.Client) -> None:
    # A retried refresh (the first answer lost) gets the very pair the first one got.
    pair = tokens(client, register(client)[0])
    one = client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]})
    two = client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert one.status_code == 200 and two.status_code == 200
    assert two.json()["refresh_token"] == one.json()["refresh_token"]
    assert two.json()["access_token"] == one.json()["access_token"]
    assert client.get("/api/me", headers=bearer(one.json()["access_token"])).status_code == 200
    again = client.post("/api/token/refresh", json={"refresh_token": one.json()["refresh_token"]})
    assert again.status_code == 200


def _race(urls: list[str], refresh_token: object, racers: int = 8) -> list[httpx.Response]:
    """``racers`` refreshes of one token at once, spread over the nodes, each on its own connection."""
    start = threading.Barrier(racers)
    answers: list[httpx.Response | None] = [None] * racers

    def run(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=30) as racer:
            racer.get("/healthz")  # connected before the start
            start.wait()
            answers[i] = racer.post("/api/token/refresh", json={"refresh_token": refresh_token})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_eight_concurrent_refreshes_leave_one_chain(
    nodes: Callable[..., Node], request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    args = ["--login-limit", "1000/5m", "--refresh-race-window", f"{RACE_WINDOW:g}s"]
    if store == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        args += ["--store", redis.url]
    one, two = (nodes(*args, data_dir=tmp_path / "shared", env=SHARED_SECRET) for _ in range(2))
    with one.client() as a, two.client() as b:
        name, _ = register(a)
        pair = tokens(a, name)
        answers = _race([one.url, two.url], pair["refresh_token"])
        won = [answer.json() for answer in answers if answer.status_code == 200]
        print(f"{store}, two nodes, {len(answers)} racing refreshes: {len(won)} got the one pair")
        for lost in (answer for answer in answers if answer.status_code != 200):
            assert_problem(lost, 401, "token_invalid")  # refused, revoking nothing
        assert won and all((w["refresh_token"], w["access_token"]) == (won[0]["refresh_token"],
                                                                       won[0]["access_token"]) for w in won)
        successor = won[0]
        assert b.get("/api/me", headers=bearer(successor["access_token"])).status_code == 200
        listed = b.get("/api/sessions", headers=bearer(successor["access_token"])).json()
        assert [entry["kind"] for entry in listed] == ["token"]
        time.sleep(RACE_WINDOW + 0.5)  # past the window: only a fork would show now
        after = b.post("/api/token/refresh", json={"refresh_token": successor["refresh_token"]})
        assert after.status_code == 200
        assert a.get("/api/me", headers=bearer(after.json()["access_token"])).status_code == 200
        late = a.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]})
        assert_problem(late, 401, "refresh_reused")  # past the window, reuse detection as before


def test_refresh_needs_a_real_token(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    user_id, login_id, _, tag = str(pair["refresh_token"]).split(".")
    guesses = (f"{user_id}.{login_id}.{'A' * 43}", f"{user_id}.{login_id}.{'A' * 43}.{tag}")
    for bad in ("nonsense", *guesses, str(pair["access_token"]), "", "x" * 5000):
        response = client.post("/api/token/refresh", json={"refresh_token": bad})
        assert_problem(response, 401)
        assert "www-authenticate" in response.headers
    # a guess at the secret does not revoke the login
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    assert_problem(client.post("/api/token/refresh", json={"refresh_token": 5}), 422)


def test_revoke_kills_access_and_refresh(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    assert client.post("/api/token/revoke", headers=bearer(pair["access_token"])).status_code == 204
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert_problem(client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}), 401)


def test_bearer_needs_no_csrf_and_ignores_cookies(client: httpx.Client) -> None:
    name, _ = register(client)
    pair, session = tokens(client, name), login(client, name)
    headers = {**bearer(pair["access_token"]), "Cookie": session.headers()["Cookie"]}
    me = client.get("/api/me", headers=headers).json()
    assert me["auth"] == "token"
    dead = {**bearer("not-a-token"), "Cookie": session.headers()["Cookie"]}
    assert_problem(client.get("/api/me", headers=dead), 401)  # judged by Authorization alone


def test_log_out_everywhere_crosses_kinds(client: httpx.Client) -> None:
    name, _ = register(client)
    session, pair = login(client, name), tokens(client, name)
    kinds = {entry["kind"] for entry in client.get("/api/sessions", headers=session.headers()).json()}
    assert kinds == {"cookie", "token"}
    assert client.delete("/api/sessions", headers=session.headers()).status_code == 204
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert client.get("/api/me", headers=session.headers()).status_code == 200

    pair = tokens(client, name)
    assert client.delete("/api/sessions", headers=bearer(pair["access_token"])).status_code == 204
    assert_problem(client.get("/api/me", headers=session.headers()), 401)
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200


def test_revoking_a_token_login_from_the_device_list(client: httpx.Client) -> None:
    name, _ = register(client)
    session, pair = login(client, name), tokens(client, name)
    token_login = next(e for e in client.get("/api/sessions", headers=session.headers()).json() if e["kind"] == "token")
    assert client.delete(f"/api/sessions/{token_login['id']}", headers=session.headers()).status_code == 204
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)


HOSTILE = [
    "a", "a.b", "a.b.c", "a.b.c.d.e", "....", "=" * 10, "x" * 100_000,
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "eyJhbGciOiJOb05lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.",
]


@pytest.mark.parametrize("token", HOSTILE)
def test_hostile_bearer_tokens_are_401(client: httpx.Client, token: str) -> None:
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


def test_tampered_and_stripped_tokens_are_401(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    header, payload, signature = str(pair["access_token"]).split(".")
    _, claims = _segments(str(pair["access_token"]))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode()).rstrip(b"=").decode()
    for token in (f"{header}.{payload}.", f"{header}.{forged}.{signature}", f"{header}.{payload}.{signature}=="):
        response = client.get("/api/me", headers=bearer(token))
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_other_schemes_are_401(client: httpx.Client) -> None:
    assert_problem(client.get("/api/me", headers={"Authorization": "Basic YWxpY2U6cHc="}), 401)


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed(key: object, alg: str, header: dict[str, object], claims: dict[str, object]) -> str:
    signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims))}"
    signature = jwt.PyJWS().get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{_b64(signature)}"


def test_every_invalid_access_token_gets_one_answer(client: httpx.Client, node: Node) -> None:
    # No oracle (RFC 8725 §3): whatever is wrong with a token, the body and the challenge are the
    # same bytes; why it was refused goes to the log, without the token.
    logged_before = len(node.log())
    real = str(tokens(client, register(client)[0])["access_token"])
    header, claims = _segments(real)
    key = jwt.PyJWK(_cli(node, "keys", "export", str(header["kid"]))[0]).key
    now = int(time.time())

    def forged(**changes: object) -> str:
        return _signed(key, "EdDSA", {**header, **changes.pop("header", {})},  # type: ignore[dict-item]
                       {k: v for k, v in {**claims, **changes}.items() if v is not None})

    head, body, signature = real.split(".")
    intruder = new_signing_key("ES256", created_at=0, kid=str(header["kid"]))
    hostile = {
        "malformed": "not-a-token",
        "three garbage segments": "a.b.c",
        "wrong signature": f"{head}.{body}.{'B' if signature[0] != 'B' else 'C'}{signature[1:]}",
        "signature of another payload": f"{head}.{_b64(json.dumps({**claims, 'sub': 'admin'}))}.{signature}",
        **{f"alg {none}": f"{_b64(json.dumps({**header, 'alg': none}))}.{body}." for none in ("none", "None", "NONE")},
        "unknown kid": forged(header={"kid": "no-such-key"}),
        "another algorithm": _signed(intruder.signing_key, "ES256", {**header, "alg": "ES256"}, claims),
        "wrong typ": forged(header={"typ": "JWT"}),
        "missing claim": forged(sid=None),
        "bad claim type": forged(exp=str(claims["exp"])),
        "nbf ahead": forged(nbf=now + 60),
        "wrong issuer": forged(iss="http://evil.example"),
        "wrong audience": forged(aud="another-service"),
        "oversized": "x" * 5000,
    }
    answers = {kind: client.get("/api/me", headers=bearer(token)) for kind, token in hostile.items()}
    answers["another scheme"] = client.get("/api/me", headers={"Authorization": f"Basic {_b64('alice:pw')}"})
    # A forged token under the DPoP scheme is judged as a token first (tests/e2e/test_dpop.py has the proofs).
    answers["DPoP scheme"] = client.get("/api/me", headers={"Authorization": f"DPoP {hostile['wrong signature']}"})
    for response in answers.values():
        assert_problem(response, 401, "token_invalid")
    assert len({response.content for response in answers.values()}) == 1, {k: r.text for k, r in answers.items()}
    assert len({response.headers["www-authenticate"] for response in answers.values()}) == 1
    assert client.get("/api/me", headers=bearer(forged())).status_code == 200  # the forger's key is real
    expired = forged(iat=now - 700, exp=now - 100)
    assert_problem(client.get("/api/me", headers=bearer(expired)), 401, "token_expired")  # told apart

    def logged() -> bool:
        return node.log()[logged_before:].count(" INFO passgate.tokens token refused: ") == len(answers)

    wait_until(logged, 5.0)
    log = node.log()[logged_before:]
    assert "token not valid yet" in log and "token from another issuer" in log
    assert not any(part in log for token in (*hostile.values(), real) for part in token.split(".") if len(part) > 8)


def test_every_invalid_refresh_token_gets_one_answer(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    user_id, login_id, _, tag = str(pair["refresh_token"]).split(".")
    revoked = tokens(client, register(client)[0])
    assert client.post("/api/token/revoke", headers=bearer(revoked["access_token"])).status_code == 204
    hostile = ["nonsense", "", "x" * 5000, f"{user_id}.{login_id}.{'A' * 43}", f"{user_id}.{login_id}.{'A' * 43}.{tag}",
               str(pair["access_token"]), str(revoked["refresh_token"])]
    answers = [client.post("/api/token/refresh", json={"refresh_token": token}) for token in hostile]
    for response in answers:
        assert_problem(response, 401, "token_invalid")
    assert len({response.content for response in answers}) == 1
    assert len({response.headers["www-authenticate"] for response in answers}) == 1


def test_jwks_lists_public_keys_only(client: httpx.Client) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all("kid" in key and "d" not in key and "k" not in key for key in keys)


def test_cors_allow_list(nodes: Callable[..., Node]) -> None:
    node = nodes("--cors-origins", "https://app.example")
    with node.client() as client:
        name, password = register(client)
        preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"}
        pre = client.options("/api/me", headers=preflight)
        assert pre.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in pre.headers
        pair = client.post("/api/token", json={"username": name, "password": password},
                           headers={"Origin": "https://app.example"})
        assert pair.status_code == 200
        assert_problem(client.post("/api/session", json={"username": name, "password": password},
                                   headers={"Origin": "https://app.example"}), 403, "csrf_failed")
        evil = client.post("/api/token", json={"username": name, "password": password},
                           headers={"Origin": "https://evil.example"})
        assert_problem(evil, 403, "csrf_failed")
        for refused in ({**preflight, "Origin": "https://evil.example"},
                        {**preflight, "Access-Control-Request-Headers": "x-not-allowed"}):
            answer = client.options("/api/me", headers=refused)
            assert_problem(answer, 400, "validation_failed")
            assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize("alg", ["ES256", "HS256"])
def test_other_algorithms(nodes: Callable[..., Node], tmp_path_factory: pytest.TempPathFactory, alg: str) -> None:
    node = nodes("--jwt-alg", alg, data_dir=tmp_path_factory.mktemp(alg))
    with node.client() as client:
        pair = tokens(client, register(client)[0])
        assert _segments(str(pair["access_token"]))[0]["alg"] == alg
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        jwks = client.get("/.well-known/jwks.json").json()
        assert (jwks == {"keys": []}) if alg == "HS256" else len(jwks["keys"]) == 1


def _admin(data_dir: Path, *args: str, stdin: str = "") -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, env={**os.environ, **FAST_HASHING}, timeout=60, check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _cli(node: Node, *args: str, stdin: str = "") -> list[dict[str, object]]:
    return _admin(node.data_dir, *args, stdin=stdin)


def test_admin_commands_before_the_first_node_claim_nothing(nodes: Callable[..., Node], tmp_path: Path) -> None:
    # The issuer is the first node's address, and the key its --jwt-alg's: an admin command run
    # on a fresh data dir first takes neither.
    data = tmp_path / "fresh"
    _admin(data, "user", "create", "early-bird", stdin="correct horse\n")
    assert _admin(data, "keys", "list") == []
    node = nodes("--jwt-alg", "HS256", data_dir=data)
    with node.client() as client:
        assert _segments(str(tokens(client, "early-bird")["access_token"]))[1]["iss"] == node.url
        assert client.get("/.well-known/jwks.json").json() == {"keys": []}
    assert [key["alg"] for key in _admin(data, "keys", "list")] == ["HS256"]  # every algorithm's keys


def test_two_processes_are_one_deployment(nodes: Callable[..., Node]) -> None:
    one = nodes()
    two = nodes()
    with one.client() as a, two.client() as b:
        name, _ = register(a)
        pair, session = tokens(a, name), login(a, name)
        assert b.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        assert b.get("/api/me", headers=session.headers()).status_code == 200
        assert a.post("/api/token/revoke", headers=bearer(pair["access_token"])).status_code == 204
        assert a.delete("/api/session", headers=session.headers()).status_code == 204
        wait_until(lambda: b.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401, 1.0)
        wait_until(lambda: b.get("/api/me", headers=session.headers()).status_code == 401, 1.0)


def test_key_rotation_while_nodes_run(nodes: Callable[..., Node]) -> None:
    one, two = nodes("--access-ttl", "3s"), nodes("--access-ttl", "3s")
    with one.client() as a, two.client() as b:
        name, _ = register(a)
        before = tokens(a, name)
        old_kid = _segments(str(before["access_token"]))[0]["kid"]
        rotated = _cli(one, "keys", "rotate")[0]
        assert rotated["kid"] != old_kid and "d" not in rotated
        for client in (a, b):  # the contract's bound: every running node within 5 s, no restart
            def rotated_on(c: Any = client) -> bool:
                return _segments(str(tokens(c, name)["access_token"]))[0]["kid"] == rotated["kid"]

            wait_until(rotated_on, 5.0)
        after = tokens(a, name)
        assert _segments(str(after["access_token"]))[0]["kid"] == rotated["kid"]
        for client in (a, b):
            for pair in (before, after):
                assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        kids = {key["kid"] for key in a.get("/.well-known/jwks.json").json()["keys"]}
        assert {old_kid, rotated["kid"]} <= kids
        listed = {key["kid"]: key["status"] for key in _cli(one, "keys", "list")}
        assert listed[rotated["kid"]] == "current" and listed[old_kid] == "previous"
        assert all("d" not in key for key in _cli(one, "keys", "list"))
        exported = _cli(one, "keys", "export", str(rotated["kid"]))[0]
        assert exported["kid"] == rotated["kid"] and "d" in exported


def test_admin_cli_revokes_on_a_running_node(nodes: Callable[..., Node]) -> None:
    node = nodes()
    created = _cli(node, "user", "create", "admin-made", stdin="correct horse\n")[0]
    assert created["username"] == "admin-made"
    with node.client() as client:
        pair, session = tokens(client, "admin-made"), login(client, "admin-made")
        listed = _cli(node, "sessions", "list", "admin-made")
        assert {entry["kind"] for entry in listed} == {"cookie", "token"}
        assert {entry["bound"] for entry in listed} == {False}
        _cli(node, "sessions", "revoke", "admin-made", str(listed[0]["id"]))
        _cli(node, "sessions", "revoke", "admin-made", "--all")
        wait_until(lambda: client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401, 1.0)
        wait_until(lambda: client.get("/api/me", headers=session.headers()).status_code == 401, 1.0)
