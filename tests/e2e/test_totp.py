"""TOTP and recovery codes end to end, against ``passgate serve``: enrolment, the second step of
cookie and token logins, codes that work once, the mfa_token's single use and lifetime, the login
limit over wrong codes, turning TOTP off, and the admin's reset."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pyotp

from tests.dpop import Key
from tests.e2e.api import COOKIE, assert_problem, bearer, cookie_value, login, register
from tests.e2e.totp import Enrolled, enrol, mfa_token, settle
from tests.nodes import Node

NODE_ARGS = ("--login-limit", "1000/5m")


def audit_events(node: Node, name: str) -> list[dict[str, object]]:
    return [json.loads(line.split(" passgate.audit ", 1)[1]) for line in node.log().splitlines()
            if " passgate.audit " in line and f'"event":"{name}"' in line]


# -- hostile cases first ---------------------------------------------------------------------


def test_the_password_alone_yields_no_credential(client: httpx.Client) -> None:
    account = enrol(client)
    for path in ("/api/session", "/api/token"):
        answer = client.post(path, json={"username": account.name, "password": account.password})
        body = assert_problem(answer, 401, "mfa_required")
        assert body["methods"] == ["totp", "recovery_code"] and len(str(body["mfa_token"])) == 43
        assert "set-cookie" not in answer.headers and "access_token" not in body
        assert answer.headers["www-authenticate"]
    wrong = client.post("/api/session", json={"username": account.name, "password": "not the password"})
    assert_problem(wrong, 401, "invalid_credentials")  # a wrong password learns nothing of the factor


def test_a_code_is_never_accepted_twice(client: httpx.Client) -> None:
    account = enrol(client)
    code = account.code()
    first = client.post("/api/token/mfa", json={"mfa_token": mfa_token(client, account, "/api/token"), "code": code})
    assert first.status_code == 200, first.text
    again = client.post("/api/token/mfa", json={"mfa_token": mfa_token(client, account, "/api/token"), "code": code})
    assert_problem(again, 401, "mfa_invalid")
    older = client.post("/api/token/mfa", json={"mfa_token": mfa_token(client, account, "/api/token"),
                                                "code": account.code(-1)})
    assert_problem(older, 401, "mfa_invalid")  # the confirmation's step, and any step before the last one used


def test_two_requests_racing_with_one_code_one_wins(client: httpx.Client) -> None:
    account = enrol(client)
    code, mfa_tokens = account.code(), [mfa_token(client, account) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda t: client.post("/api/session/mfa", json={"mfa_token": t, "code": code}),
                                mfa_tokens))
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]


def test_an_mfa_token_works_once_and_for_its_kind_of_login(client: httpx.Client) -> None:
    account = enrol(client)
    token = mfa_token(client, account)
    assert_problem(client.post("/api/token/mfa", json={"mfa_token": token, "code": account.code()}), 401,
                   "token_invalid")  # a cookie login's token does not give a token pair
    assert client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()}).status_code == 200
    spent = client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code(1)})
    assert_problem(spent, 401, "token_invalid")
    for forged in ("x" * 43, "not a token", ""):
        assert_problem(client.post("/api/session/mfa", json={"mfa_token": forged, "code": "123456"}), 401,
                       "token_invalid")


def test_a_password_changed_between_the_steps_kills_the_mfa_token(client: httpx.Client) -> None:
    account = enrol(client)
    token = mfa_token(client, account)
    change = {"current_password": account.password, "new_password": "a brand new one"}
    assert client.put("/api/me/password", json=change, headers=account.session.headers()).status_code == 204
    assert_problem(client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()}), 401,
                   "token_invalid")


def test_wrong_codes_count_under_the_login_limit(nodes: Callable[..., Node]) -> None:
    with nodes("--login-limit", "3/5m").client() as client:
        account = enrol(client)
        token = mfa_token(client, account)
        for wrong in ("000000", "not-a-code", account.recovery_codes[0][::-1]):
            assert_problem(client.post("/api/session/mfa", json={"mfa_token": token, "code": wrong}), 401,
                           "mfa_invalid")
        limited = client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()})
        assert_problem(limited, 429, "rate_limited")  # the right code too, until the window passes
        assert int(limited.headers["retry-after"]) > 0
        assert_problem(client.post("/api/session", json={"username": account.name, "password": account.password}),
                       429, "rate_limited")


def test_bad_bodies_are_422_never_500(client: httpx.Client) -> None:
    account = enrol(client)
    token = mfa_token(client, account)
    bodies: list[object] = [{"mfa_token": token}, {"code": "123456"}, {"mfa_token": token, "code": 123456},
              {"mfa_token": token, "code": "1" * 65}, {"mfa_token": ["x"], "code": "1"}, []]
    for body in bodies:
        assert_problem(client.post("/api/session/mfa", json=body), 422, "validation_failed")
    assert_problem(client.post("/api/session/mfa", content=b"{", headers={"Content-Type": "application/json"}),
                   400, "validation_failed")
    headers = account.session.headers()
    assert_problem(client.post("/api/me/totp/confirm", json={"code": None}, headers=headers), 422)
    assert_problem(client.request("DELETE", "/api/me/totp", json={"password": account.password}, headers=headers),
                   422)
    # The token survived every refusal above: a wrong body spends nothing.
    assert client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()}).status_code == 200


# -- enrolment and logins --------------------------------------------------------------------


def test_enrolment_needs_the_password_and_a_first_code(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    assert_problem(client.post("/api/me/totp", json={"password": "not the password"}, headers=session.headers()),
                   403, "invalid_credentials")
    assert_problem(client.post("/api/me/totp", json={"password": password}, headers=session.headers(csrf=False)),
                   403, "csrf_failed")
    started = client.post("/api/me/totp", json={"password": password}, headers=session.headers())
    assert started.status_code == 200 and started.headers["cache-control"] == "no-store"
    secret, uri = started.json()["secret"], started.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and len(secret) == 32
    assert login(client, name, password)  # pending: the password is still enough
    assert_problem(client.post("/api/me/totp/confirm", json={"code": "000000"}, headers=session.headers()),
                   403, "mfa_invalid")
    confirmed = client.post("/api/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                            headers=session.headers())
    codes = confirmed.json()["recovery_codes"]
    assert confirmed.status_code == 200 and len(codes) == len(set(codes)) == 10
    assert_problem(client.post("/api/me/totp", json={"password": password}, headers=session.headers()), 403)
    assert_problem(client.post("/api/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                               headers=session.headers()), 404)


def test_a_cookie_login_with_totp(client: httpx.Client, node: Node) -> None:
    account = enrol(client)
    finished = client.post("/api/session/mfa", json={"mfa_token": mfa_token(client, account), "code": account.code()})
    assert finished.status_code == 200 and finished.headers["cache-control"] == "no-store"
    assert set(finished.json()) == {"user", "csrf_token", "expires_at", "idle_expires_at"}
    cookie = {"Cookie": f"{COOKIE}={cookie_value(finished)}"}
    me = client.get("/api/me", headers=cookie).json()
    assert me["username"] == account.name and me["auth"] == "session"
    methods = {entry["id"]: entry["method"] for entry in client.get("/api/sessions", headers=cookie).json()}
    assert methods == {me["session_id"]: "password+totp", account.session.id: "password"}
    assert audit_events(node, "mfa_enabled")[-1]["user_id"] == me["id"]


def test_a_token_login_with_totp(client: httpx.Client) -> None:
    account = enrol(client)
    token = mfa_token(client, account, "/api/token")
    pair = client.post("/api/token/mfa", json={"mfa_token": token, "code": account.code()})
    assert pair.status_code == 200 and pair.json()["token_type"] == "Bearer"
    access = pair.json()["access_token"]
    assert client.get("/api/me", headers=bearer(access)).json()["auth"] == "token"
    listed = client.get("/api/sessions", headers=bearer(access)).json()
    assert [entry["method"] for entry in listed if entry["current"]] == ["password+totp"]
    refreshed = client.post("/api/token/refresh", json={"refresh_token": pair.json()["refresh_token"]})
    assert refreshed.status_code == 200  # a login made with two factors refreshes like any other


def test_a_dpop_login_is_bound_by_the_key_that_asked(client: httpx.Client) -> None:
    account, key, other = enrol(client), Key(), Key("EdDSA")
    url = f"{client.base_url}/api/token"
    token = mfa_token(client, account, "/api/token", headers={"DPoP": key.proof("POST", url)})
    stranger = client.post("/api/token/mfa", json={"mfa_token": token, "code": account.code()},
                           headers={"DPoP": other.proof("POST", url + "/mfa")})
    assert_problem(stranger, 400, "invalid_dpop_proof")
    unproven = client.post("/api/token/mfa", json={"mfa_token": token, "code": account.code()})
    assert_problem(unproven, 400, "invalid_dpop_proof")
    bound = client.post("/api/token/mfa", json={"mfa_token": token, "code": account.code()},
                        headers={"DPoP": key.proof("POST", url + "/mfa")})
    assert bound.status_code == 200, bound.text
    assert bound.json()["token_type"] == "DPoP"


def test_a_recovery_code_works_once(client: httpx.Client, node: Node) -> None:
    account = enrol(client)
    code = account.recovery_codes[3]
    used = client.post("/api/session/mfa", json={"mfa_token": mfa_token(client, account), "code": code.upper()})
    assert used.status_code == 200, used.text
    cookie = {"Cookie": f"{COOKIE}={cookie_value(used)}"}
    assert [e["method"] for e in client.get("/api/sessions", headers=cookie).json() if e["current"]] == [
        "password+recovery_code"]
    again = client.post("/api/session/mfa", json={"mfa_token": mfa_token(client, account), "code": code})
    assert_problem(again, 401, "mfa_invalid")
    assert audit_events(node, "mfa_recovery_code_used")[-1]["left"] == 9
    assert audit_events(node, "mfa_failed")
    log = node.log()
    assert account.secret not in log and not any(c in log for c in account.recovery_codes)


def test_turning_totp_off_needs_the_password_and_a_code(client: httpx.Client, node: Node) -> None:
    account = enrol(client)
    headers = account.session.headers()
    for body, code in (({"password": "not the password", "code": account.code()}, "invalid_credentials"),
                       ({"password": account.password, "code": "000000"}, "mfa_invalid")):
        assert_problem(client.request("DELETE", "/api/me/totp", json=body, headers=headers), 403, code)
    off = client.request("DELETE", "/api/me/totp", json={"password": account.password,
                                                         "code": account.recovery_codes[0]}, headers=headers)
    assert off.status_code == 204
    assert login(client, account.name, account.password)  # the password alone again
    assert_problem(client.request("DELETE", "/api/me/totp", json={"password": account.password, "code": "1"},
                                  headers=headers), 404)
    assert audit_events(node, "mfa_disabled")


# -- the mfa_token's lifetime, and the admin's reset -------------------------------------------


def test_an_mfa_token_expires(nodes: Callable[..., Node]) -> None:
    with nodes("--mfa-token-ttl", "2s").client() as client:
        account = enrol(client)
        token = mfa_token(client, account)
        time.sleep(2.5)
        assert_problem(client.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()}), 401,
                       "token_invalid")
        assert client.post("/api/session/mfa", json={"mfa_token": mfa_token(client, account),
                                                     "code": account.code()}).status_code == 200


def test_an_mfa_token_never_lives_past_five_minutes(nodes: Callable[..., Node]) -> None:
    refused = subprocess.run([sys.executable, "-m", "passgate.cli", "serve", "--mfa-token-ttl", "6m", "--port", "1"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "mfa" in refused.stderr.lower()


def _cli(node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(node.data_dir)],
                          capture_output=True, text=True, env=node.env, timeout=60, check=False)


def test_the_admin_resets_the_second_factor(client: httpx.Client, node: Node) -> None:
    account: Enrolled = enrol(client)
    settle()
    pair = client.post("/api/token/mfa", json={"mfa_token": mfa_token(client, account, "/api/token"),
                                               "code": account.code()}).json()
    reset = _cli(node, "user", "mfa-reset", account.name)
    assert reset.returncode == 0, reset.stderr
    assert json.loads(reset.stdout) == {"username": account.name, "mfa_removed": True, "revoked": 2}
    assert_problem(client.get("/api/me", headers=account.session.headers()), 401)
    assert_problem(client.get("/api/me", headers=bearer(pair["access_token"])), 401)
    assert login(client, account.name, account.password)  # the password alone, until TOTP is on again
    missing = _cli(node, "user", "mfa-reset", "nobody-here")
    assert missing.returncode == 2 and "no such user" in missing.stderr
