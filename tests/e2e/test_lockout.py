"""A stranger cannot lock an account out (OWASP's device cookies), end to end against ``passgate serve``.

The node trusts loopback as its proxy, so each request names its client in ``X-Forwarded-For``: the
stranger guesses from one address, the account's owner logs in from others, as behind the cluster recipe.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.api import COOKIE, assert_problem, bearer, cookie_value, register
from tests.nodes import Node
from tests.servers import RedisServer

NODE_ARGS = ("--login-limit", "10/5m", "--trusted-proxies", "127.0.0.1")
DEVICE = "__Host-passgate-device"
FORM_COOKIE = "__Host-passgate-form"
LOGINS = ["/api/session", "/api/token"]
_addresses = itertools.count(1)


def address() -> str:
    """A client address no other request of this module has used."""
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def attempt(client: httpx.Client, path: str, name: str, password: str, *, device: str | None = None,
            at: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": at or address()}
    if device is not None:
        headers["Cookie"] = f"{DEVICE}={device}"
    return client.post(path, json={"username": name, "password": password}, headers=headers)


def device_cookie(client: httpx.Client, name: str, password: str = "correct horse", path: str = "/api/session") -> str:
    """The device cookie of a successful login."""
    response = attempt(client, path, name, password)
    assert response.status_code == 200, response.text
    return cookie_value(response, DEVICE)


def lock_out(client: httpx.Client, name: str) -> str:
    """A stranger's guesses from one address until the account is locked to clients without a device cookie."""
    stranger = address()
    for _ in range(10):
        assert_problem(attempt(client, "/api/session", name, "wrong pass", at=stranger), 401, "invalid_credentials")
    assert_problem(attempt(client, "/api/token", name, "correct horse"), 429, "rate_limited")  # from anywhere
    return stranger


@pytest.mark.parametrize("first", LOGINS)
@pytest.mark.parametrize("then", LOGINS)
def test_a_device_that_logged_in_before_is_not_locked_out_by_a_stranger(client: httpx.Client, first: str,
                                                                          then: str) -> None:
    name, password = register(client)
    device = device_cookie(client, name, password, first)
    lock_out(client, name)
    assert_problem(attempt(client, then, name, password), 429, "rate_limited")  # no device cookie: the contract's wall
    trusted = attempt(client, then, name, password, device=device)
    assert trusted.status_code == 200, trusted.text
    renewed = cookie_value(trusted, DEVICE)  # each login hands out a fresh one, and both work
    assert renewed != device
    assert attempt(client, then, name, password, device=renewed).status_code == 200
    assert_problem(attempt(client, then, name, "wrong pass", device=device), 401, "invalid_credentials")


def test_a_device_cookie_of_another_account_or_forged_gives_no_exemption(client: httpx.Client) -> None:
    name, password = register(client)
    other = device_cookie(client, register(client)[0])
    own = device_cookie(client, name, password)
    lock_out(client, name)
    issued, nonce, mac = own.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    forged = [other, f"{issued}.{nonce}.{flipped}", f"{issued}.{nonce[:-1]}x.{mac}", f"{int(issued) + 1}.{nonce}.{mac}",
              f"{issued}.{nonce}", own + "x", "x" * 300, ""]
    for value in forged:
        assert_problem(attempt(client, "/api/session", name, password, device=value), 429, "rate_limited")
    assert attempt(client, "/api/session", name, password, device=own).status_code == 200


def test_a_device_cookie_that_failed_too_often_is_locked_itself(client: httpx.Client) -> None:
    name, password = register(client)
    device = device_cookie(client, name, password)
    for _ in range(10):  # a stolen device cookie's guesses, from as many addresses as the thief likes
        assert_problem(attempt(client, "/api/token", name, "wrong pass", device=device), 401)
    limited = attempt(client, "/api/token", name, password, device=device)
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    # Its failures were the device cookie's, not the account's: the owner's other clients log in.
    assert attempt(client, "/api/session", name, password).status_code == 200
    lock_out(client, name)
    assert_problem(attempt(client, "/api/session", name, password, device=device), 429, "rate_limited")


def test_a_new_password_ends_the_device_cookies_of_the_old_one(client: httpx.Client) -> None:
    # Whoever knew the old password may have collected device cookies with it: each would buy more guesses.
    name, password = register(client)
    old = device_cookie(client, name, password)
    token = attempt(client, "/api/token", name, password).json()["access_token"]
    changed = client.put("/api/me/password", json={"current_password": password, "new_password": "another horse"},
                         headers={**bearer(token), "X-Forwarded-For": address()})
    assert changed.status_code == 204, changed.text
    lock_out(client, name)
    assert_problem(attempt(client, "/api/session", name, "another horse", device=old), 429, "rate_limited")


def test_the_address_count_holds_with_a_device_cookie(client: httpx.Client) -> None:
    name, password = register(client)
    device = device_cookie(client, name, password)
    stranger = lock_out(client, name)
    assert_problem(attempt(client, "/api/session", name, password, device=device, at=stranger), 429, "rate_limited")


def test_the_device_cookie_has_the_session_cookies_flags_and_lives_a_year(client: httpx.Client) -> None:
    name, password = register(client)
    for path in LOGINS:
        headers = attempt(client, path, name, password).headers.get_list("set-cookie")
        (device,) = [h for h in headers if h.startswith(DEVICE + "=")]
        for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/", f"Max-Age={365 * 86400}"):
            assert flag in device.split("; ")
        assert "Domain" not in device
        if path == "/api/session":
            assert headers[0].startswith(COOKIE + "=")  # the session cookie first, as before
    assert_problem(attempt(client, "/api/session", name, "wrong pass"), 401)
    assert "set-cookie" not in attempt(client, "/api/token", name, "wrong pass").headers


def test_under_insecure_cookies_the_device_cookie_is_plain(nodes: Callable[..., Node]) -> None:
    node = nodes("--insecure-cookies", "--device-cookie-ttl", "30d")
    with node.client() as client:
        name, password = register(client)
        response = client.post("/api/session", json={"username": name, "password": password})
        (device,) = [h for h in response.headers.get_list("set-cookie") if h.startswith("passgate-device=")]
        assert "Secure" not in device and "HttpOnly" in device and f"Max-Age={30 * 86400}" in device


def test_nodes_on_one_redis_share_the_device_cookies_and_their_counts(nodes: Callable[..., Node],
                                                                       redis_server: RedisServer) -> None:
    one, two = (nodes("--store", redis_server.url, *NODE_ARGS) for _ in range(2))  # one data dir: one secret
    with one.client() as first, two.client() as second:
        name, password = register(first)
        device = device_cookie(first, name, password)
        lock_out(second, name)
        assert_problem(attempt(first, "/api/session", name, password), 429, "rate_limited")
        assert attempt(second, "/api/token", name, password, device=device).status_code == 200
        for n in range(10):
            wrong = attempt((first, second)[n % 2], "/api/session", name, "wrong pass", device=device)
            assert_problem(wrong, 401, "invalid_credentials")
        assert_problem(attempt(first, "/api/token", name, password, device=device), 429, "rate_limited")


def _form(client: httpx.Client, at: str) -> tuple[str, str]:
    page = client.get("/login", headers={"X-Forwarded-For": at})
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return cookie_value(page, FORM_COOKIE), match.group(1)


def board_login(client: httpx.Client, name: str, password: str, *, device: str | None = None) -> httpx.Response:
    at = address()
    nonce, token = _form(client, at)
    cookies = f"{FORM_COOKIE}={nonce}" + (f"; {DEVICE}={device}" if device else "")
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"},
                       headers={"Cookie": cookies, "X-Forwarded-For": at}, follow_redirects=False)


def test_the_board_login_form_hands_out_and_honours_the_device_cookie(client: httpx.Client) -> None:
    name, password = register(client)
    first = board_login(client, name, password)
    assert first.status_code == 303, first.text
    device = cookie_value(first, DEVICE)
    lock_out(client, name)
    assert board_login(client, name, password).status_code == 429
    trusted = board_login(client, name, password, device=device)
    assert trusted.status_code == 303, trusted.text
    session = cookie_value(trusted, COOKIE)
    assert client.get("/api/me", headers={"Cookie": f"{COOKIE}={session}"}).json()["username"] == name
    assert cookie_value(trusted, DEVICE) != device


def test_logging_out_keeps_the_device_cookie(client: httpx.Client) -> None:
    name, password = register(client)
    response = board_login(client, name, password)
    session, device = cookie_value(response, COOKIE), cookie_value(response, DEVICE)
    me = client.get("/api/session", headers={"Cookie": f"{COOKIE}={session}"}).json()
    out = client.post("/logout", data={"csrf_token": me["csrf_token"]},
                      headers={"Cookie": f"{COOKIE}={session}; {DEVICE}={device}"}, follow_redirects=False)
    assert out.status_code == 303
    assert "cookies" not in out.headers.get("clear-site-data", "")  # it would take the device cookie with it
    assert not [h for h in out.headers.get_list("set-cookie") if h.startswith(DEVICE + "=")]
    lock_out(client, name)
    assert attempt(client, "/api/session", name, password, device=device).status_code == 200


def test_a_logged_in_user_confirms_the_password_while_strangers_lock_the_account(client: httpx.Client) -> None:
    name, password = register(client)
    response = attempt(client, "/api/session", name, password)
    headers = {"Cookie": f"{COOKIE}={cookie_value(response, COOKIE)}", "X-CSRF-Token": response.json()["csrf_token"],
               "X-Forwarded-For": address()}
    lock_out(client, name)
    changed = client.put("/api/me/password", json={"current_password": password, "new_password": "another horse"},
                         headers=headers)
    assert changed.status_code == 204, changed.text
    headers["Cookie"] = f"{COOKIE}={cookie_value(changed, COOKIE)}"  # the session's new id, with the new password
    for _ in range(10):  # the login's own guesses are counted for it
        wrong = client.put("/api/me/password", json={"current_password": "wrong pass", "new_password": "x" * 12},
                           headers={**headers, "X-Forwarded-For": address()})
        assert_problem(wrong, 403, "invalid_credentials")
    refused = client.put("/api/me/password", json={"current_password": "another horse", "new_password": "x" * 12},
                         headers={**headers, "X-Forwarded-For": address()})
    assert_problem(refused, 429, "rate_limited")


def test_the_device_cookie_is_never_in_the_log(client: httpx.Client, node: Node) -> None:
    name, password = register(client)
    device = device_cookie(client, name, password)
    lock_out(client, name)
    renewed = cookie_value(attempt(client, "/api/token", name, password, device=device), DEVICE)
    attempt(client, "/api/session", name, "wrong pass", device=renewed)
    log = node.log()
    for value in (device, renewed, *device.split(".")[1:], *renewed.split(".")[1:]):
        assert value not in log

