"""Passkeys end to end, against ``passgate serve`` reached as http://localhost (WebAuthn refuses IP
addresses), with a software authenticator that builds real WebAuthn answers (tests/webauthn.py):
registration, logins for a cookie and for tokens, and what a hostile client would send."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dpop import Key
from tests.e2e.api import COOKIE, Session, assert_problem, bearer, cookie_value, login, register
from tests.e2e.totp import enrol
from tests.nodes import Node, free_port
from tests.servers import RedisServer
from tests.webauthn import AT, UP, UV, Authenticator, b64, options_of


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    port = free_port()
    node = Node(tmp_path_factory.mktemp("passkeys"), "--public-url", f"http://localhost:{port}",
                "--login-limit", "1000/5m", port=port).start()
    yield node
    node.stop()


@pytest.fixture
def origin(node: Node) -> str:
    return f"http://localhost:{node.port}"


def audit_events(node: Node, name: str) -> list[dict[str, object]]:
    return [json.loads(line.split(" passgate.audit ", 1)[1]) for line in node.log().splitlines()
            if " passgate.audit " in line and f'"event":"{name}"' in line]


def account(client: httpx.Client) -> tuple[str, Session]:
    name, password = register(client)
    return name, login(client, name, password)


def creation(client: httpx.Client, session: Session) -> dict[str, Any]:
    answer = client.post("/api/webauthn/register/options", headers=session.headers())
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def add_passkey(client: httpx.Client, session: Session, device: Authenticator, name: str = "Laptop") -> str:
    added = client.post("/api/webauthn/register", json={**device.create(creation(client, session)), "name": name},
                        headers=session.headers())
    assert added.status_code == 201, added.text
    return str(added.json()["id"])


def request_options(client: httpx.Client) -> dict[str, Any]:
    answer = client.post("/api/webauthn/login/options")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def passkey_login(client: httpx.Client, assertion: dict[str, Any], purpose: str = "session",
                  headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"/api/webauthn/login?as={purpose}", json=assertion, headers=headers)


def with_passkey(client: httpx.Client, origin: str) -> tuple[str, Session, Authenticator]:
    name, session = account(client)
    device = Authenticator(origin)
    add_passkey(client, session, device)
    return name, session, device


# -- hostile cases first ---------------------------------------------------------------------


def test_a_replayed_challenge_is_refused(client: httpx.Client, origin: str) -> None:
    _, session = account(client)
    device = Authenticator(origin)
    created = device.create(creation(client, session))
    assert client.post("/api/webauthn/register", json=created, headers=session.headers()).status_code == 201
    again = client.post("/api/webauthn/register", json=created, headers=session.headers())
    assert_problem(again, 400, "webauthn_failed")
    assertion = device.get(request_options(client))
    assert passkey_login(client, assertion).status_code == 200
    replayed = passkey_login(client, {**assertion})
    assert_problem(replayed, 401, "webauthn_failed")
    forged = device.get(request_options(client), challenge=b64(b"\x00" * 32))  # never issued
    assert_problem(passkey_login(client, forged), 401, "webauthn_failed")


def test_a_login_challenge_does_not_register_and_a_registration_one_does_not_log_in(
        client: httpx.Client, origin: str) -> None:
    _, session, device = with_passkey(client, origin)
    login_challenge = options_of(request_options(client))["challenge"]
    crossed = device.create(creation(client, session), challenge=login_challenge)
    assert_problem(client.post("/api/webauthn/register", json=crossed, headers=session.headers()), 400,
                   "webauthn_failed")
    registration_challenge = options_of(creation(client, session))["challenge"]
    assert_problem(passkey_login(client, device.get(request_options(client), challenge=registration_challenge)),
                   401, "webauthn_failed")


def test_a_counter_that_did_not_grow_is_refused(client: httpx.Client, origin: str, node: Node) -> None:
    _, _, device = with_passkey(client, origin)
    assert passkey_login(client, device.get(request_options(client), sign_count=5)).status_code == 200
    for lagging in (5, 4):  # a clone of the authenticator, behind the original
        refused = passkey_login(client, device.get(request_options(client), sign_count=lagging))
        assert_problem(refused, 401, "webauthn_failed")
    assert passkey_login(client, device.get(request_options(client), sign_count=9)).status_code == 200
    assert "sign count" in audit_events(node, "passkey_login_failed")[-1]["reason"]  # type: ignore[operator]


def test_an_authenticator_without_a_counter_logs_in_again_and_again(client: httpx.Client, origin: str) -> None:
    _name, session = account(client)
    device = Authenticator(origin, counts=False)
    add_passkey(client, session, device)
    for _ in range(2):
        assert passkey_login(client, device.get(request_options(client))).status_code == 200


def test_another_origin_or_relying_party_is_refused(client: httpx.Client, origin: str) -> None:
    _, session = account(client)
    device = Authenticator(origin)
    for forged in ({"origin": "http://evil.localhost:1"}, {"origin": origin.replace("localhost", "127.0.0.1")},
                   {"rp_id": "evil.example"}):
        created = device.create(creation(client, session), **forged)  # type: ignore[arg-type]
        assert_problem(client.post("/api/webauthn/register", json=created, headers=session.headers()), 400,
                       "webauthn_failed")
    assert client.get("/api/me/passkeys", headers=session.headers()).json() == []
    add_passkey(client, session, device)
    for forged in ({"origin": "https://phish.example"}, {"rp_id": "example.com"}):
        refused = passkey_login(client, device.get(request_options(client), **forged))  # type: ignore[arg-type]
        assert_problem(refused, 401, "webauthn_failed")
    assert passkey_login(client, device.get(request_options(client))).status_code == 200


def test_user_verification_is_required(client: httpx.Client, origin: str) -> None:
    _, session = account(client)
    device = Authenticator(origin)
    options = creation(client, session)
    selection = options_of(options)["authenticatorSelection"]
    assert selection["userVerification"] == "required" and selection["residentKey"] == "required"
    unverified = device.create(options, flags=UP | AT)
    assert_problem(client.post("/api/webauthn/register", json=unverified, headers=session.headers()), 400,
                   "webauthn_failed")
    add_passkey(client, session, device)
    assert options_of(request_options(client))["userVerification"] == "required"
    assert_problem(passkey_login(client, device.get(request_options(client), flags=UP)), 401, "webauthn_failed")
    assert_problem(passkey_login(client, device.get(request_options(client), flags=UV)), 401, "webauthn_failed")


def test_a_credential_that_is_not_discoverable_is_refused(client: httpx.Client, origin: str) -> None:
    _, session = account(client)
    device = Authenticator(origin)
    created = device.create(creation(client, session), rk=False)
    assert_problem(client.post("/api/webauthn/register", json=created, headers=session.headers()), 400,
                   "webauthn_failed")
    _, _, device = with_passkey(client, origin)
    assert_problem(passkey_login(client, device.get(request_options(client), user_handle=b"")), 401,
                   "webauthn_failed")  # no user handle: not a discoverable credential
    assert_problem(passkey_login(client, device.get(request_options(client), user_handle=b"someone-else")), 401,
                   "webauthn_failed")


def test_a_removed_passkey_no_longer_logs_in(client: httpx.Client, origin: str, node: Node) -> None:
    _name, session, device = with_passkey(client, origin)
    listed = client.get("/api/me/passkeys", headers=session.headers()).json()
    (passkey,) = listed
    _, stranger = account(client)
    assert_problem(client.delete(f"/api/me/passkeys/{passkey['id']}", headers=stranger.headers()), 404)
    assert_problem(client.delete(f"/api/me/passkeys/{passkey['id']}", headers=session.headers(csrf=False)), 403,
                   "csrf_failed")
    assert client.delete(f"/api/me/passkeys/{passkey['id']}", headers=session.headers()).status_code == 204
    assert client.get("/api/me/passkeys", headers=session.headers()).json() == []
    assert_problem(passkey_login(client, device.get(request_options(client))), 401, "webauthn_failed")
    assert_problem(client.delete(f"/api/me/passkeys/{passkey['id']}", headers=session.headers()), 404)
    assert audit_events(node, "passkey_removed")[-1]["passkey_id"] == passkey["id"]


def test_registration_needs_a_login_and_its_csrf_token(client: httpx.Client, origin: str) -> None:
    assert_problem(client.post("/api/webauthn/register/options"), 401)
    assert_problem(client.get("/api/me/passkeys"), 401)
    _, session = account(client)
    assert_problem(client.post("/api/webauthn/register/options", headers=session.headers(csrf=False)), 403,
                   "csrf_failed")
    created = Authenticator(origin).create(creation(client, session))
    assert_problem(client.post("/api/webauthn/register", json=created, headers=session.headers(csrf=False)), 403,
                   "csrf_failed")
    foreign = client.post("/api/webauthn/login/options", headers={"Origin": "https://evil.example"})
    assert_problem(foreign, 403, "csrf_failed")  # login CSRF: another site cannot start one


def test_bad_bodies_are_4xx_never_500(client: httpx.Client, origin: str) -> None:
    _, session, device = with_passkey(client, origin)
    good = device.get(request_options(client))
    response = good["response"]
    bodies: list[object] = [
        {}, [], {"id": 1}, {**good, "type": "password"}, {**good, "response": "x"},
        {**good, "response": {**response, "signature": None}}, {**good, "rawId": "not base64url!"},
        {**good, "response": {**response, "userHandle": 7}},
    ]
    for body in bodies:
        assert_problem(passkey_login(client, body), 422, "validation_failed")  # type: ignore[arg-type]
    garbled: list[dict[str, Any]] = [
        {**good, "response": {**response, "clientDataJSON": b64(b"not json")}},
        {**good, "response": {**response, "clientDataJSON": b64(b'{"type":"webauthn.get"}')}},
        {**good, "response": {**response, "authenticatorData": b64(b"short")}},
        {**good, "response": {**response, "signature": b64(b"\x30\x00")}},
        {**good, "id": b64(b"other"), "rawId": b64(b"other")},
        {**good, "response": {**response, "clientDataJSON": "_" * 10}},
    ]
    for body in garbled:
        assert_problem(passkey_login(client, body), 401, "webauthn_failed")
    assert_problem(passkey_login(client, good, "cookie"), 422, "validation_failed")
    created = device.create(creation(client, session))
    for bad in ({**created, "name": "x" * 65}, {**created, "name": "a\u202eb"},
                {**created, "response": {**created["response"], "attestationObject": b64(b"\xff\x00")}}):
        answer = client.post("/api/webauthn/register", json=bad, headers=session.headers())
        assert answer.status_code in (400, 422), answer.text
        assert_problem(answer, answer.status_code)
    assert_problem(client.post("/api/webauthn/login?as=session", content=b"{", headers={
        "Content-Type": "application/json"}), 400, "validation_failed")
    assert_problem(client.post("/api/webauthn/login?as=session", content=b"{}", headers={
        "Content-Type": "text/plain"}), 415)


# -- registering and logging in --------------------------------------------------------------


def test_register_list_and_log_in_with_a_cookie(client: httpx.Client, origin: str, node: Node) -> None:
    name, session = account(client)
    options = options_of(creation(client, session))
    assert options["rp"] == {"id": "localhost", "name": "localhost"} and options["user"]["name"] == name
    assert options["attestation"] == "none" and options["extensions"] == {"credProps": True}
    device = Authenticator(origin)
    passkey_id = add_passkey(client, session, device, "My laptop")
    (listed,) = client.get("/api/me/passkeys", headers=session.headers()).json()
    assert listed["id"] == passkey_id and listed["name"] == "My laptop" and listed["last_used_at"] is None
    assert listed["transports"] == ["internal"] and set(listed) == {"id", "name", "created_at", "last_used_at",
                                                                     "transports"}
    excluded = options_of(creation(client, session))["excludeCredentials"]
    assert [entry["id"] for entry in excluded] == [b64(device.credentials[0].id)]
    request = options_of(request_options(client))
    assert request["rpId"] == "localhost" and request.get("allowCredentials", []) == []
    answer = passkey_login(client, device.get({"publicKey": request}))
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"user", "csrf_token", "expires_at", "idle_expires_at"}
    cookie = {"Cookie": f"{COOKIE}={cookie_value(answer)}"}
    me = client.get("/api/me", headers=cookie).json()
    assert me["username"] == name and me["auth"] == "session"
    methods = {entry["id"]: entry["method"] for entry in client.get("/api/sessions", headers=cookie).json()}
    assert methods[me["session_id"]] == "passkey"
    assert client.get("/api/me/passkeys", headers=cookie).json()[0]["last_used_at"] is not None
    assert audit_events(node, "passkey_added")[-1]["passkey_id"] == passkey_id
    log = node.log()
    assert request["challenge"] not in log and b64(device.credentials[0].id) not in log
    assert cookie_value(answer) not in log


def test_log_in_for_tokens_bound_by_dpop(client: httpx.Client, origin: str) -> None:
    name, _, device = with_passkey(client, origin)
    pair = passkey_login(client, device.get(request_options(client)), "token")
    assert pair.status_code == 200 and pair.json()["token_type"] == "Bearer", pair.text
    access = pair.json()["access_token"]
    assert client.get("/api/me", headers=bearer(access)).json()["username"] == name
    listed = client.get("/api/sessions", headers=bearer(access)).json()
    assert [entry["method"] for entry in listed if entry["current"]] == ["passkey"]
    refreshed = client.post("/api/token/refresh", json={"refresh_token": pair.json()["refresh_token"]})
    assert refreshed.status_code == 200
    key, url = Key(), f"{origin}/api/webauthn/login"
    bad_proof = passkey_login(client, device.get(request_options(client)), "token",
                              headers={"DPoP": key.proof("POST", url + "/elsewhere")})
    assert_problem(bad_proof, 400, "invalid_dpop_proof")
    bound = passkey_login(client, device.get(request_options(client)), "token",
                          headers={"DPoP": key.proof("POST", url)})
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP", bound.text


def test_a_passkey_is_both_factors_and_the_password_stays_one_step(client: httpx.Client, origin: str) -> None:
    name, _session, device = with_passkey(client, origin)
    assert login(client, name)  # a passkey is another way in: the password alone still logs in
    enrolled = enrol(client)
    device = Authenticator(origin)
    add_passkey(client, enrolled.session, device)
    assert_problem(client.post("/api/session", json={"username": enrolled.name, "password": enrolled.password}),
                   401, "mfa_required")
    assert passkey_login(client, device.get(request_options(client))).status_code == 200  # no code asked


def test_two_passkeys_of_one_account_and_one_taken_twice(client: httpx.Client, origin: str) -> None:
    _, session = account(client)
    phone, laptop = Authenticator(origin), Authenticator(origin)
    add_passkey(client, session, phone, "Phone")
    add_passkey(client, session, laptop, "Laptop")
    assert [p["name"] for p in client.get("/api/me/passkeys", headers=session.headers()).json()] == ["Phone",
                                                                                                     "Laptop"]
    for device in (phone, laptop):
        assert passkey_login(client, device.get(request_options(client))).status_code == 200
    _, other = account(client)
    again = phone.create(creation(client, other), reuse=phone.credentials[0])
    body = assert_problem(client.post("/api/webauthn/register", json=again, headers=other.headers()), 400,
                          "webauthn_failed")
    assert "registered already" in str(body["detail"])  # a credential id belongs to one account
    assert client.get("/api/me/passkeys", headers=other.headers()).json() == []


def test_failed_passkey_logins_count_under_the_login_limit(tmp_path: Path) -> None:
    port = free_port()
    origin = f"http://localhost:{port}"
    with Node(tmp_path, "--public-url", origin, "--login-limit", "3/5m", port=port) as node, node.client() as client:
        _, _, device = with_passkey(client, origin)
        waiting = request_options(client)  # asked while the address is not locked out yet
        for _ in range(3):
            assert_problem(passkey_login(client, device.get(request_options(client), flags=UP)), 401,
                           "webauthn_failed")
        limited = passkey_login(client, device.get(waiting))  # the right passkey too, until the window passes
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) > 0
        assert_problem(client.post("/api/webauthn/login/options"), 429, "rate_limited")
        assert len(audit_events(node, "passkey_login_failed")) == 3


def _cli(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(node.data_dir)],
                          capture_output=True, text=True, env=node.env, timeout=60, check=False)


def test_the_admin_reset_and_the_account_deletion_remove_passkeys(client: httpx.Client, origin: str,
                                                                   node: Node) -> None:
    name, _, device = with_passkey(client, origin)
    reset = _cli(node, "user", "mfa-reset", name)
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout)["mfa_removed"] is True
    assert_problem(passkey_login(client, device.get(request_options(client))), 401, "webauthn_failed")
    name, session, device = with_passkey(client, origin)
    gone = client.request("DELETE", "/api/me", json={"password": "correct horse"}, headers=session.headers())
    assert gone.status_code == 204
    assert_problem(passkey_login(client, device.get(request_options(client))), 401, "webauthn_failed")


def test_a_passkey_login_begun_on_one_node_is_finished_on_the_other(
        nodes: Callable[..., Node], tmp_path: Path, redis_server: RedisServer) -> None:
    origin = "http://localhost:8443"  # the proxy's address, in front of both nodes
    pair = [nodes("--store", redis_server.url, "--public-url", origin, data_dir=tmp_path / "shared")
            for _ in range(2)]
    with pair[0].client() as one, pair[1].client() as two:
        _, session, device = with_passkey(one, origin)
        assertion = device.get(request_options(one))
        finished = passkey_login(two, assertion)
        assert finished.status_code == 200, finished.text
        assert one.get("/api/me", headers={"Cookie": f"{COOKIE}={cookie_value(finished)}"}).status_code == 200
        assert_problem(passkey_login(one, assertion), 401, "webauthn_failed")  # spent on every node
        registered = device.create(creation(one, session))
        assert two.post("/api/webauthn/register", json=registered, headers=session.headers()).status_code == 201


def test_without_a_public_url_the_relying_party_is_the_requests_host(nodes: Callable[..., Node]) -> None:
    node = nodes("--login-limit", "1000/5m")
    origin = f"http://localhost:{node.port}"
    with node.client(headers={"Host": f"localhost:{node.port}"}) as client:
        _, _, device = with_passkey(client, origin)
        assert options_of(request_options(client))["rpId"] == "localhost"
        assert passkey_login(client, device.get(request_options(client))).status_code == 200
        begun = request_options(client)
    with node.client() as other_host:  # the same node as 127.0.0.1: another site to the browser
        assert_problem(passkey_login(other_host, device.get(begun)), 401, "webauthn_failed")


def test_a_disabled_accounts_passkey_logs_in_no_more(client: httpx.Client, origin: str, node: Node) -> None:
    name, _, device = with_passkey(client, origin)
    assert _cli(node, "user", "disable", name).returncode == 0
    assert_problem(passkey_login(client, device.get(request_options(client))), 403, "account_disabled")
    assert _cli(node, "user", "enable", name).returncode == 0
    assert passkey_login(client, device.get(request_options(client)), "token").status_code == 200
