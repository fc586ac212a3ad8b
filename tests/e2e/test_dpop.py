"""DPoP-bound tokens (RFC 9449) end to end, against ``passgate serve``: a stolen token is useless
without the client's key, and a stolen proof is useless twice."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.dpop import Key
from tests.e2e.api import assert_problem, bearer, register, tokens
from tests.e2e.api import login as cookie_login
from tests.nodes import Node
from tests.servers import RedisServer

NODE_ARGS = ("--login-limit", "1000/5m")
CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return value


def bound_tokens(client: httpx.Client, key: Key, name: str, password: str = "correct horse") -> dict[str, Any]:
    proof = key.proof("POST", f"{client.base_url}/api/token")
    response = client.post("/api/token", json={"username": name, "password": password}, headers={"DPoP": proof})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def dpop(key: Key, client: httpx.Client, method: str, path: str, token: str, **proof: Any) -> dict[str, str]:
    """The headers of a DPoP request: the token, and a fresh proof by ``key`` for this request."""
    return {"Authorization": f"DPoP {token}",
            "DPoP": key.proof(method, f"{client.base_url}{path}", token=token, **proof)}


def refused(response: httpx.Response, status: int = 401) -> None:
    assert_problem(response, status, "invalid_dpop_proof")
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.fixture
def login(client: httpx.Client) -> tuple[Key, dict[str, Any]]:
    key = Key()
    return key, bound_tokens(client, key, register(client)[0])


# -- a stolen token, a stolen proof ----------------------------------------------------------------

def test_a_bound_token_sent_as_bearer_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    _, pair = login
    refused(client.get("/api/me", headers=bearer(pair["access_token"])))
    refused(client.post("/api/posts", json={"title": "stolen"}, headers=bearer(pair["access_token"])))


def test_a_bound_token_without_a_proof_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    _, pair = login
    refused(client.get("/api/me", headers={"Authorization": f"DPoP {pair['access_token']}"}))


def test_a_replayed_proof_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    key, pair = login
    headers = dpop(key, client, "GET", "/api/me", pair["access_token"])
    assert client.get("/api/me", headers=headers).status_code == 200
    refused(client.get("/api/me", headers=headers))


def test_a_proof_by_another_key_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    _, pair = login
    for thief in (Key(), Key("EdDSA")):
        refused(client.get("/api/me", headers=dpop(thief, client, "GET", "/api/me", pair["access_token"])))


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/me"), ("GET", "/api/sessions"), ("GET", "/api/me/")])
def test_a_proof_for_another_request_is_refused(
    client: httpx.Client, login: tuple[Key, dict[str, Any]], method: str, path: str,
) -> None:
    key, pair = login
    headers = dpop(key, client, method, path, pair["access_token"])
    refused(client.get("/api/me", headers=headers))


def test_a_proof_for_another_host_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    key, pair = login
    proof = key.proof("GET", "http://evil.test/api/me", token=pair["access_token"])
    refused(client.get("/api/me", headers={"Authorization": f"DPoP {pair['access_token']}", "DPoP": proof}))


def test_a_proof_for_another_token_is_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    key, pair = login
    other = bound_tokens(client, key, register(client)[0])["access_token"]
    proof = key.proof("GET", f"{client.base_url}/api/me", token=other)
    refused(client.get("/api/me", headers={"Authorization": f"DPoP {pair['access_token']}", "DPoP": proof}))


def test_a_stale_proof_or_two_proofs_are_refused(client: httpx.Client, login: tuple[Key, dict[str, Any]]) -> None:
    key, pair = login
    token = pair["access_token"]
    refused(client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token, iat=time.time() - 120)))
    two = [("Authorization", f"DPoP {token}"),
           *(("DPoP", key.proof("GET", f"{client.base_url}/api/me", token=token)) for _ in range(2))]
    refused(client.get("/api/me", headers=two))


def test_an_unbound_token_sent_as_dpop_is_refused(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    assert pair["token_type"] == "Bearer"
    refused(client.get("/api/me", headers=dpop(Key(), client, "GET", "/api/me", str(pair["access_token"]))))
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200


# -- what the key holder does ----------------------------------------------------------------------

def test_a_bound_login_works_with_a_fresh_proof_each_time(
    client: httpx.Client, login: tuple[Key, dict[str, Any]],
) -> None:
    key, pair = login
    token = pair["access_token"]
    assert pair["token_type"] == "DPoP"
    assert claims_of(token)["cnf"] == {"jkt": key.jkt}
    assert set(claims_of(token)) == {"iss", "aud", "sub", "exp", "iat", "jti", "sid", "cnf"}
    for _ in range(3):
        me = client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token))
        assert me.status_code == 200 and me.json()["auth"] == "token" and me.json()["bound"] is True
    post = client.post("/api/posts", json={"title": "by a bound token"},
                       headers=dpop(key, client, "POST", "/api/posts", token))
    assert post.status_code == 201, post.text
    devices = client.get("/api/sessions", headers=dpop(key, client, "GET", "/api/sessions", token)).json()
    assert [d["bound"] for d in devices] == [True]


def test_eddsa_keys_bind_too(client: httpx.Client) -> None:
    key = Key("EdDSA")
    pair = bound_tokens(client, key, register(client)[0])
    assert claims_of(pair["access_token"])["cnf"]["jkt"] == key.jkt
    assert client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", pair["access_token"])).status_code == 200


def test_a_bound_refresh_token_refreshes_only_with_a_proof_of_its_key(
    client: httpx.Client, login: tuple[Key, dict[str, Any]],
) -> None:
    key, pair = login
    url = f"{client.base_url}/api/token/refresh"
    body = {"refresh_token": pair["refresh_token"]}
    refused(client.post("/api/token/refresh", json=body), 400)
    refused(client.post("/api/token/refresh", json=body, headers={"DPoP": Key().proof("POST", url)}), 400)
    refused(client.post("/api/token/refresh", json=body, headers={"DPoP": key.proof("POST", url + "x")}), 400)
    # None of those spent it: the key holder refreshes.
    fresh = client.post("/api/token/refresh", json=body, headers={"DPoP": key.proof("POST", url)})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["token_type"] == "DPoP"
    token = fresh.json()["access_token"]
    assert claims_of(token)["cnf"] == {"jkt": key.jkt}
    assert client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token)).status_code == 200


def test_an_unbound_login_refreshed_with_a_proof_is_bound_from_then_on(client: httpx.Client) -> None:
    pair = tokens(client, register(client)[0])
    key, url = Key(), f"{client.base_url}/api/token/refresh"
    fresh = client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]},
                        headers={"DPoP": key.proof("POST", url)}).json()
    assert fresh["token_type"] == "DPoP"
    refused(client.post("/api/token/refresh", json={"refresh_token": fresh["refresh_token"]}), 400)


def test_a_bad_proof_at_login_is_a_400_and_no_login(client: httpx.Client) -> None:
    name, password = register(client)
    credentials = {"username": name, "password": password}
    for proof in ("not a proof", Key().proof("GET", f"{client.base_url}/api/token"),
                  Key().proof("POST", f"{client.base_url}/api/session")):
        refused(client.post("/api/token", json=credentials, headers={"DPoP": proof}), 400)
    used = Key().proof("POST", f"{client.base_url}/api/token")
    assert client.post("/api/token", json=credentials, headers={"DPoP": used}).status_code == 200
    refused(client.post("/api/token", json=credentials, headers={"DPoP": used}), 400)


def test_revocation_and_logout_everywhere_hold_for_bound_logins(
    client: httpx.Client, login: tuple[Key, dict[str, Any]],
) -> None:
    key, pair = login
    token = pair["access_token"]
    answer = client.post("/api/token/revoke", headers=dpop(key, client, "POST", "/api/token/revoke", token))
    assert answer.status_code == 204, answer.text
    assert_problem(client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token)), 401, "session_revoked")
    url = f"{client.base_url}/api/token/refresh"
    assert_problem(client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]},
                               headers={"DPoP": key.proof("POST", url)}), 401)


# -- the deployment's choices ----------------------------------------------------------------------

def test_dpop_required_refuses_unbound_token_requests(nodes: Callable[..., Node]) -> None:
    node = nodes("--dpop", "required")
    with node.client() as client:
        name, password = register(client)
        refused(client.post("/api/token", json={"username": name, "password": password}), 400)
        key = Key()
        pair = bound_tokens(client, key, name)
        assert pair["token_type"] == "DPoP"
        refused(client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]}), 400)
        me = client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", pair["access_token"]))
        assert me.status_code == 200


def test_dpop_off_ignores_proofs_and_takes_no_dpop_tokens(nodes: Callable[..., Node]) -> None:
    node = nodes("--dpop", "off")
    with node.client() as client:
        key = Key()
        pair = bound_tokens(client, key, register(client)[0])
        assert pair["token_type"] == "Bearer" and "cnf" not in claims_of(pair["access_token"])
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        sent_as_dpop = client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", pair["access_token"]))
        assert_problem(sent_as_dpop, 401, "token_invalid")


def test_behind_a_proxy_proofs_name_the_public_url(nodes: Callable[..., Node]) -> None:
    node = nodes("--public-url", "https://board.example")
    with node.client() as client:
        key = Key()
        name, password = register(client)
        proof = key.proof("POST", "https://board.example/api/token")
        pair = client.post("/api/token", json={"username": name, "password": password}, headers={"DPoP": proof})
        assert pair.status_code == 200, pair.text
        token = pair.json()["access_token"]
        public = {"Authorization": f"DPoP {token}",
                  "DPoP": key.proof("GET", "https://board.example/api/me", token=token)}
        assert client.get("/api/me", headers=public).status_code == 200
        refused(client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token)))


def test_a_proof_replayed_on_another_node_of_a_redis_deployment_is_refused(
    nodes: Callable[..., Node], redis_server: RedisServer,
) -> None:
    one, two = (nodes("--store", redis_server.url) for _ in range(2))
    with one.client() as a, two.client() as b:
        key = Key()
        pair = bound_tokens(a, key, register(a)[0])
        token = pair["access_token"]
        # Both nodes answer to the same address as far as the proof is concerned: the client's URL.
        proof = key.proof("GET", f"{a.base_url}/api/me", token=token)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof, "Host": f"127.0.0.1:{one.port}"}
        assert a.get("/api/me", headers=headers).status_code == 200
        refused(b.get("/api/me", headers=headers))
        fresh = {**headers, "DPoP": key.proof("GET", f"{a.base_url}/api/me", token=token)}
        assert b.get("/api/me", headers=fresh).status_code == 200


def test_server_nonces_when_the_deployment_asks_for_them(nodes: Callable[..., Node]) -> None:
    node = nodes("--dpop-nonces")
    with node.client() as client:
        name, password = register(client)
        key, url = Key(), f"{client.base_url}/api/token"
        credentials = {"username": name, "password": password}
        asked = client.post("/api/token", json=credentials, headers={"DPoP": key.proof("POST", url)})
        assert_problem(asked, 400, "use_dpop_nonce")
        assert asked.headers["www-authenticate"] == 'DPoP error="use_dpop_nonce", algs="ES256 EdDSA"'
        nonce = asked.headers["dpop-nonce"]
        opened = client.post("/api/token", json=credentials,
                             headers={"DPoP": key.proof("POST", url, claims={"nonce": nonce})})
        assert opened.status_code == 200, opened.text
        assert opened.headers["dpop-nonce"] == nonce
        token = opened.json()["access_token"]
        without = client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token))
        assert_problem(without, 401, "use_dpop_nonce")
        assert without.headers["dpop-nonce"] == nonce
        me = client.get("/api/me", headers=dpop(key, client, "GET", "/api/me", token, claims={"nonce": nonce}))
        assert me.status_code == 200, me.text
        refused(client.get("/api/me", headers=bearer(token)))


def test_the_board_s_device_page_marks_bound_logins(client: httpx.Client) -> None:
    name, password = register(client)
    bound_tokens(client, Key(), name, password)
    tokens(client, name, password)
    session = cookie_login(client, name, password)
    page = client.get("/account/sessions", headers=session.headers(csrf=False))
    assert page.status_code == 200
    assert page.text.count("key-bound</span>") == 1
