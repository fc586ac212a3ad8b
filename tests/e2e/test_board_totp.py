"""The board's pages for two-step login, as HTML forms: /account/security turns TOTP on (a QR code,
recovery codes shown once) and off, and /login asks for the code after the password."""

from __future__ import annotations

import re
import time

import httpx
import pyotp

from tests.e2e.api import COOKIE, Session, cookie_value, login, register
from tests.e2e.totp import settle

NODE_ARGS = ("--login-limit", "1000/5m")
FORM_COOKIE = "__Host-passgate-form"


def page_of(client: httpx.Client, session: Session, path: str = "/account/security") -> str:
    page = client.get(path, headers={"Cookie": f"{COOKIE}={session.cookie}"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    return page.text


def post(client: httpx.Client, session: Session, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": session.csrf, **fields},
                       headers={"Cookie": f"{COOKIE}={session.cookie}"}, follow_redirects=False)


def turn_on(client: httpx.Client, session: Session, password: str) -> tuple[str, list[str]]:
    """TOTP on through the page: its secret and the recovery codes the page showed."""
    assert post(client, session, "/account/security/totp", password=password).status_code == 303
    shown = page_of(client, session)
    assert "<svg" in shown and "Scan this" in shown
    match = re.search(r'class="secret">([A-Z2-7]{32})<', shown)
    assert match is not None
    settle()
    confirmed = post(client, session, "/account/security/totp/confirm",
                     code=pyotp.TOTP(match.group(1)).at(time.time() - 30))
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", confirmed.text)
    assert len(codes) == 10
    return match.group(1), codes


def form_login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post("/login", data={"csrf_token": token.group(1), "username": name, "password": password,
                                       "next": "/account/sessions"},
                       headers={"Cookie": f"{FORM_COOKIE}={page.cookies[FORM_COOKIE]}"}, follow_redirects=False)


def code_step(client: httpx.Client, step: httpx.Response, code: str, **changes: str) -> httpx.Response:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', step.text))
    return client.post("/login/code", data={**fields, "code": code, **changes},
                       headers={"Cookie": f"{FORM_COOKIE}={client.cookies.get(FORM_COOKIE) or _form_cookie(step)}"},
                       follow_redirects=False)


def _form_cookie(response: httpx.Response) -> str:
    return cookie_value(response, FORM_COOKIE) if FORM_COOKIE in str(response.headers.get_list("set-cookie")) else ""


def test_turning_totp_on_shows_a_qr_code_and_the_recovery_codes_once(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    assert "Set up two-step login" in page_of(client, session)
    refused = post(client, session, "/account/security/totp", password="not the password")
    assert refused.status_code == 403 and "the password is wrong" in refused.text
    forged = client.post("/account/security/totp", data={"password": password},
                         headers={"Cookie": f"{COOKIE}={session.cookie}"}, follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/login")  # no CSRF token
    _, codes = turn_on(client, session, password)
    again = page_of(client, session)
    assert "Two-step login is on" in again and not any(code in again for code in codes)
    assert client.post("/api/session", json={"username": name, "password": password}).status_code == 401


def test_a_wrong_first_code_leaves_it_off(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    assert post(client, session, "/account/security/totp", password=password).status_code == 303
    wrong = post(client, session, "/account/security/totp/confirm", code="000000")
    assert wrong.status_code == 403 and "<svg" in wrong.text  # the QR code again, to try once more
    assert client.post("/api/session", json={"username": name, "password": password}).status_code == 200


def test_logging_in_on_the_board_asks_for_the_code(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    secret, _ = turn_on(client, session, password)
    step = form_login(client, name, password)
    assert step.status_code == 200 and 'name="mfa_token"' in step.text
    assert not any(h.startswith(COOKIE + "=") for h in step.headers.get_list("set-cookie"))  # no login yet
    wrong = code_step(client, step, "000000")
    assert wrong.status_code == 401 and "wrong" in wrong.text and 'name="mfa_token"' in wrong.text
    done = code_step(client, wrong, pyotp.TOTP(secret).now())
    assert done.status_code == 303 and done.headers["location"] == "/account/sessions"
    mine = Session(cookie_value(done), "", "")
    assert "password + code" in page_of(client, mine, "/account/sessions")
    stale = code_step(client, step, pyotp.TOTP(secret).at(time.time() + 30))
    assert stale.status_code == 401 and "log in again" in stale.text
    no_csrf = code_step(client, step, "123456", csrf_token="")
    assert no_csrf.status_code == 403


def test_a_recovery_code_logs_in_and_turns_it_off(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    _, codes = turn_on(client, session, password)
    done = code_step(client, form_login(client, name, password), codes[0])
    assert done.status_code == 303
    mine = Session(cookie_value(done), "", "")
    assert "password + recovery code" in page_of(client, mine, "/account/sessions")
    refused = post(client, session, "/account/security/totp/off", password=password, code=codes[0])
    assert refused.status_code == 403 and "Two-step login is on" in refused.text  # that code is spent
    off = post(client, session, "/account/security/totp/off", password=password, code=codes[1])
    assert off.status_code == 303 and off.headers["location"] == "/account/security?off=1"
    assert "Two-step login is off" in page_of(client, session, "/account/security?off=1")
    assert form_login(client, name, password).status_code == 303
