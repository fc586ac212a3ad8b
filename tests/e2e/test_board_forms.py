"""The board's HTML forms under hostile bodies: a clear 4xx that changes nothing, never a 500."""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest

from tests.e2e.api import COOKIE, Session, login, register
from tests.nodes import Node, wait_until

NODE_ARGS = ("--login-limit", "1000/5m")  # one `passgate serve` for the module (tests/e2e/conftest.py)
FORM_COOKIE = "__Host-passgate-form"

# A multipart body may name its charset; these two turn bytes into a lone surrogate, which no
# UTF-8 encoder (the template, the hasher, the database) accepts.
SURROGATES = {"unicode_escape": b"\\ud800", "utf-7": b"+2AA-"}


def multipart(fields: dict[str, bytes], charset: str) -> tuple[bytes, dict[str, str]]:
    parts = b"".join(
        b'--XX\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in fields.items()
    )
    return parts + b"--XX--\r\n", {"Content-Type": f"multipart/form-data; boundary=XX; charset={charset}"}


def form_token(client: httpx.Client) -> tuple[str, str]:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return page.cookies[FORM_COOKIE], match.group(1)


@pytest.mark.parametrize("charset", sorted(SURROGATES))
@pytest.mark.parametrize(
    "path, fields, as_user",
    [
        ("/login", ["username"], False),
        ("/login", ["password"], False),
        ("/login", ["next"], False),
        ("/register", ["username"], False),
        ("/register", ["password"], False),
        ("/posts/new", ["title"], True),
        ("/posts/new", ["body"], True),
        ("/posts/new", ["csrf_token"], True),
        ("/account/password", ["current_password"], True),
        ("/account/password", ["new_password"], True),
        ("/account/delete", ["password"], True),
        ("/account/sessions/revoke", ["login_id"], True),
        ("/logout", ["csrf_token"], True),
        ("/forgot", ["email"], False),
        ("/reset", ["token"], False),
        ("/reset", ["new_password"], False),
        ("/verify", ["token"], False),
        ("/account/email", ["email"], True),
        ("/account/email", ["password"], True),
    ],
)
def test_a_field_that_is_not_unicode_is_400(
    client: httpx.Client, node: Node, charset: str, path: str, fields: list[str], as_user: bool
) -> None:
    name, password = register(client)
    session = login(client, name, password)
    nonce, token = form_token(client)
    values = {"username": name.encode(), "password": password.encode(), "current_password": password.encode(),
              "new_password": b"another horse", "title": b"a title", "body": b"a body", "next": b"/",
              "login_id": session.id.encode(), "email": b"ann@example.test", "token": b"t" * 43}  # fmt: skip
    values["csrf_token"] = (session.csrf if as_user else token).encode()
    for field in fields:
        values[field] = SURROGATES[charset] + b"abcdefgh"
    body, headers = multipart(values, charset)
    headers["Cookie"] = f"{COOKIE}={session.cookie}" if as_user else f"{FORM_COOKIE}={nonce}"
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"
    # nothing changed: the login lives, the password is the old one, no post was made
    assert client.get("/api/me", headers=session.headers()).status_code == 200
    assert client.post("/api/token", json={"username": name, "password": password}).status_code == 200
    assert all(post["author"]["username"] != name for post in client.get("/api/posts").json())
    assert "unexpected error" not in node.log()


def test_a_form_token_that_is_not_ascii_is_refused(client: httpx.Client) -> None:
    name = register(client)[0]
    session: Session = login(client, name)
    body, headers = multipart({"csrf_token": "é".encode(), "title": b"t", "body": b"b"}, "utf-8")
    response = client.post("/posts/new", content=body, headers={**headers, "Cookie": f"{COOKIE}={session.cookie}"})
    assert response.status_code == 403
    assert all(post["author"]["username"] != name for post in client.get("/api/posts").json())  # no post made


@pytest.mark.parametrize(
    "path, content_type",
    [("/api/session", "application/json"), ("/login", "application/x-www-form-urlencoded"),
     ("/api/users", "application/json")],
)
def test_a_client_that_hangs_up_mid_body_is_no_error(node: Node, path: str, content_type: str) -> None:
    before = node.log().count("unexpected error")
    with httpx.Client(base_url=node.url) as client:
        found = re.search(r'status="499"\} (\d+)', client.get("/metrics").text)
    before_499 = int(found.group(1)) if found else 0
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 100\r\n\r\n".encode() + b'{"'
        )
        time.sleep(0.3)
    with httpx.Client(base_url=node.url) as client:  # the server goes on, and knows what happened
        assert client.get("/healthz").status_code == 200
        wait_until(lambda: f'status="499"}} {before_499 + 1}' in client.get("/metrics").text, 5.0)
    log = node.log()
    assert log.count("unexpected error") == before and "ClientDisconnect" not in log


def test_logging_out_of_the_board_clears_the_site(client: httpx.Client) -> None:
    session: Session = login(client, register(client)[0])
    out = client.post("/logout", data={"csrf_token": session.csrf},
                      headers={"Cookie": f"{COOKIE}={session.cookie}"}, follow_redirects=False)
    # Not "cookies": it would take the device cookie, which outlives the session.
    assert out.status_code == 303 and out.headers["clear-site-data"] == '"cache"'
    assert client.get("/api/me", headers={"Cookie": f"{COOKIE}={session.cookie}"}).status_code == 401
