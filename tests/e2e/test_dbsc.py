"""Device Bound Session Credentials (the W3C draft that Chrome ships) end to end, against
``passgate serve --dbsc on``, spoken by a protocol client written from the draft (tests/dbsc.py):
a stolen session cookie is useless without the browser's key, and a stolen proof is useless twice."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest

from tests.dbsc import Browser, proof, sf_item, sf_params
from tests.dpop import Key
from tests.e2e.api import COOKIE, assert_problem, register
from tests.nodes import Node, wait_until
from tests.servers import RedisServer

NODE_ARGS = ("--dbsc", "on", "--login-limit", "1000/5m")
BOUND = "__Host-passgate-bound"
TTL = 2  # seconds: the bound cookie's lifetime on the node that lets it expire


def bound_browser(client: httpx.Client) -> Browser:
    browser = Browser(client)
    browser.login(register(client)[0])
    assert browser.register().status_code == 200
    return browser


def me(browser: Browser, *only: str) -> httpx.Response:
    return browser.send("GET", "/api/me", only=only)


# -- hostile first: what a thief holds --------------------------------------------------------------

def test_the_long_cookie_alone_does_not_work_for_a_bound_login(client: httpx.Client) -> None:
    browser = bound_browser(client)
    assert me(browser).status_code == 200
    stolen = me(browser, COOKIE)  # the session cookie without the bound one: what a cookie thief has
    assert_problem(stolen, 401, "dbsc_required")
    assert "www-authenticate" in stolen.headers
    forged = browser.send("GET", "/api/me", only=(COOKIE,), headers={"Cookie": f"{COOKIE}={browser.cookies[COOKIE]}; "
                                                                              f"{BOUND}=9999999999.AAAA"})
    assert_problem(forged, 401, "dbsc_required")


def test_a_thief_with_the_long_cookie_cannot_refresh_without_the_key(client: httpx.Client) -> None:
    browser = bound_browser(client)
    thief = Browser(client, key=Key(), cookies={COOKIE: browser.cookies[COOKIE]}, session=browser.session)
    assert_problem(thief.refresh(), 401, "invalid_dbsc_proof")
    assert BOUND not in thief.cookies
    assert_problem(me(thief), 401, "dbsc_required")
    assert me(browser).status_code == 200  # the owner is not logged out by the attempt


def test_a_replayed_refresh_response_is_refused(client: httpx.Client) -> None:
    browser = bound_browser(client)
    assert browser.refresh().status_code == 200
    replay = Browser(client, cookies={COOKIE: browser.cookies[COOKIE]}, session=browser.session)
    again = replay.refresh(response=browser.last_proof)
    assert_problem(again, 403, "dbsc_challenge")  # a spent challenge: a new one, to be signed by the key
    assert sf_params(again.headers["secure-session-challenge"])["id"] == browser.session["session_identifier"]
    assert BOUND not in replay.cookies


def test_a_refresh_signed_by_another_key_is_refused(client: httpx.Client) -> None:
    browser = bound_browser(client)
    refused = browser.refresh(sign_with=Key())
    assert_problem(refused, 401, "invalid_dbsc_proof")


def test_a_refresh_for_another_session_id_is_refused(client: httpx.Client) -> None:
    browser, other = bound_browser(client), bound_browser(client)
    mixed = Browser(client, key=browser.key, cookies=dict(browser.cookies), session=other.session)
    assert mixed.refresh().status_code == 401


@pytest.mark.parametrize("hostile", [
    {"challenge": "not-one-the-server-issued"},
    {"header": {"typ": "JWT"}},
    {"header": {"alg": "none"}},
    {"header": {"jwk": None}},
    {"signer": Key()},  # signed by another key than the one in its header
    {"header": {"jwk": {**Key().jwk, "d": "AAAA"}}},
])
def test_a_hostile_registration_is_refused(client: httpx.Client, hostile: dict[str, object]) -> None:
    browser = Browser(client)
    browser.login(register(client)[0])
    refused = browser.register(**hostile)
    assert refused.status_code in (400, 401), refused.text
    assert_problem(refused, refused.status_code, "invalid_dbsc_proof")
    assert BOUND not in browser.cookies
    assert me(browser, COOKIE).status_code == 200  # still an ordinary session


def test_a_registration_challenge_works_once_and_for_its_own_login(client: httpx.Client) -> None:
    browser = Browser(client)
    browser.login(register(client)[0])
    other = Browser(client)
    other.login(register(client)[0])
    assert_problem(other.register(challenge=browser.offer["challenge"]), 401, "invalid_dbsc_proof")
    assert browser.register().status_code == 200
    assert_problem(browser.register(), 401, "invalid_dbsc_proof")  # spent, and the login is bound already


def test_registration_and_refresh_need_the_session_cookie(client: httpx.Client) -> None:
    browser = Browser(client)
    browser.login(register(client)[0])
    signed = proof(browser.key, browser.offer["challenge"], registration=True)
    anonymous = client.post(browser.offer["path"], headers={"Secure-Session-Response": f'"{signed}"'})
    assert_problem(anonymous, 401)
    refresh = client.post("/api/session/dbsc/refresh", headers={"Sec-Secure-Session-Id": '"x"'})
    assert_problem(refresh, 401)


# -- the protocol as a browser speaks it ------------------------------------------------------------

def test_a_login_offers_registration(client: httpx.Client) -> None:
    browser = Browser(client)
    response = browser.login(register(client)[0])
    offered = response.headers["secure-session-registration"]
    assert offered.startswith("(ES256 RS256);")
    assert browser.offer["path"] == "/api/session/dbsc/register"
    assert len(browser.offer["challenge"]) >= 32


def test_registration_answers_the_session_config_and_a_bound_cookie(client: httpx.Client) -> None:
    browser = Browser(client)
    browser.login(register(client)[0])
    response = browser.register()
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    config = response.json()
    me_before = me(browser).json()
    assert config["session_identifier"] == me_before["session_id"]
    assert config["refresh_url"] == "/api/session/dbsc/refresh"
    assert config["scope"] == {"include_site": False}
    assert config["credentials"] == [{"type": "cookie", "name": BOUND,
                                      "attributes": "Path=/; HttpOnly; SameSite=Lax; Secure"}]
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(BOUND + "="))
    assert "Max-Age=600" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert me_before["bound"] is True
    devices = browser.send("GET", "/api/sessions").json()
    assert [d["bound"] for d in devices if d["current"]] == [True]


def test_an_ordinary_session_beside_dbsc_is_unchanged(client: httpx.Client) -> None:
    browser = Browser(client)
    browser.login(register(client)[0])  # a browser that never registers
    assert me(browser).json()["bound"] is False
    post = browser.send("POST", "/api/posts", json={"title": "plain"}, headers={"X-CSRF-Token": browser.csrf})
    assert post.status_code == 201


def test_a_bound_login_posts_and_logs_out_like_any_other(client: httpx.Client) -> None:
    browser = bound_browser(client)
    post = browser.send("POST", "/api/posts", json={"title": "bound"}, headers={"X-CSRF-Token": browser.csrf})
    assert post.status_code == 201
    out = browser.send("DELETE", "/api/session", headers={"X-CSRF-Token": browser.csrf})
    assert out.status_code == 204
    assert BOUND not in browser.cookies  # cleared: the browser's next request asks for a refresh
    assert_problem(browser.refresh(), 401)  # which ends the browser's DBSC session (draft: a 4xx)


def test_log_out_everywhere_ends_bound_logins(client: httpx.Client) -> None:
    name, _ = register(client)
    bound, other = Browser(client), Browser(client)
    bound.login(name)
    assert bound.register().status_code == 200
    other.login(name)
    assert other.send("DELETE", "/api/sessions", headers={"X-CSRF-Token": other.csrf}).status_code == 204
    assert_problem(me(bound), 401, "session_revoked")
    assert_problem(bound.refresh(), 401)


def test_the_bound_cookie_expires_and_a_signed_challenge_renews_it(nodes: Callable[..., Node]) -> None:
    node = nodes("--dbsc", "on", "--dbsc-cookie-ttl", f"{TTL}s")
    with node.client() as client:
        browser = bound_browser(client)
        assert me(browser).status_code == 200
        time.sleep(TTL + 0.5)
        kept = dict(browser.cookies)  # a client that ignores Max-Age still holds the expired value
        assert_problem(browser.send("GET", "/api/me", headers=browser.cookie_header(*kept)), 401, "dbsc_required")
        ask = browser.send("POST", browser.session["refresh_url"],
                           headers={"Sec-Secure-Session-Id": f'"{browser.session["session_identifier"]}"'})
        assert_problem(ask, 403, "dbsc_challenge")
        challenge = ask.headers["secure-session-challenge"]
        assert sf_params(challenge)["id"] == browser.session["session_identifier"] and sf_item(challenge)
        signed = proof(browser.key, sf_item(challenge), registration=False)
        renewed = browser.refresh(response=signed)
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["session_identifier"] == browser.session["session_identifier"]
        assert browser.cookies[BOUND] != kept[BOUND]
        assert me(browser).status_code == 200


def test_with_dbsc_off_nothing_changes(nodes: Callable[..., Node]) -> None:
    node = nodes()
    with node.client() as client:
        browser = Browser(client)
        response = browser.login(register(client)[0])
        assert "secure-session-registration" not in response.headers
        assert me(browser, COOKIE).json()["bound"] is False
        signed = proof(browser.key, "anything", registration=True)
        refused = browser.send("POST", "/api/session/dbsc/register", headers={"Secure-Session-Response": signed})
        assert_problem(refused, 404)


def test_another_node_of_a_redis_deployment_answers_the_refresh(
    nodes: Callable[..., Node], redis_server: RedisServer,
) -> None:
    one, two = (nodes("--store", redis_server.url, "--dbsc", "on") for _ in range(2))
    with one.client() as a, two.client() as b:
        browser = bound_browser(a)
        ask = Browser(b, cookies=dict(browser.cookies), session=browser.session)
        first = ask.send("POST", browser.session["refresh_url"],
                         headers={"Sec-Secure-Session-Id": f'"{browser.session["session_identifier"]}"'})
        challenge = sf_item(first.headers["secure-session-challenge"])  # issued by node 2
        browser.http = a
        answered = browser.refresh(response=proof(browser.key, challenge, registration=False))  # spent on node 1
        assert answered.status_code == 200, answered.text
        browser.http = b
        assert me(browser).status_code == 200  # node 2 takes node 1's bound cookie
        assert_problem(me(browser, COOKIE), 401, "dbsc_required")  # and knows the login is bound
        replayed = Browser(b, cookies=dict(browser.cookies), session=browser.session)
        assert_problem(replayed.refresh(response=proof(browser.key, challenge, registration=False)), 403,
                       "dbsc_challenge")


def test_the_boards_login_offers_registration_and_its_devices_page_shows_the_binding(client: httpx.Client) -> None:
    name, password = register(client)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    browser = Browser(client, cookies={k: v for k, v in page.cookies.items()})
    answer = browser.send("POST", "/login", data={"username": name, "password": password, "csrf_token": token[1]})
    assert answer.status_code == 303
    browser.offer = sf_params(answer.headers["secure-session-registration"])
    assert browser.register().status_code == 200
    devices = browser.send("GET", "/account/sessions")
    assert devices.status_code == 200
    assert "key-bound" in devices.text and "(DBSC)" in devices.text
    assert_problem(me(browser, COOKIE), 401, "dbsc_required")


def test_the_headers_as_chromium_sends_them_unquoted_are_understood(client: httpx.Client) -> None:
    # Chromium 156 sends Secure-Session-Response and Sec-Secure-Session-Id as bare values, not sf-strings.
    browser = Browser(client)
    browser.login(register(client)[0])
    signed = proof(browser.key, browser.offer["challenge"], registration=True)
    registered = browser.send("POST", browser.offer["path"], headers={"Secure-Session-Response": signed})
    assert registered.status_code == 200, registered.text
    session_id = registered.json()["session_identifier"]
    ask = browser.send("POST", "/api/session/dbsc/refresh", headers={"Sec-Secure-Session-Id": session_id})
    assert_problem(ask, 403, "dbsc_challenge")
    answer = proof(browser.key, sf_item(ask.headers["secure-session-challenge"]), registration=False)
    renewed = browser.send("POST", "/api/session/dbsc/refresh",
                           headers={"Sec-Secure-Session-Id": session_id, "Secure-Session-Response": answer})
    assert renewed.status_code == 200, renewed.text


def test_a_store_outage_answers_503_never_the_401_that_would_end_the_browsers_session(
    nodes: Callable[..., Node], make_redis_server: Callable[..., RedisServer],
) -> None:
    redis = make_redis_server(appendonly=True)  # the logins outlive the restart
    node = nodes("--store", redis.url, "--dbsc", "on")
    with node.client() as client:
        browser = bound_browser(client)
        redis.stop()
        headers = {"Sec-Secure-Session-Id": f'"{browser.session["session_identifier"]}"'}
        wait_until(lambda: browser.send("POST", "/api/session/dbsc/refresh", headers=headers).status_code == 503, 1.5)
        down = browser.send("POST", "/api/session/dbsc/refresh", headers=headers)
        assert_problem(down, 503, "store_unavailable")
        assert "retry-after" in down.headers
        redis.start()
        wait_until(lambda: browser.refresh().status_code == 200, 10)
        assert me(browser).status_code == 200
