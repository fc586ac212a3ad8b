"""Small helpers for speaking the contract's HTTP API in end-to-end tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

COOKIE = "__Host-passgate"


def new_name() -> str:
    return "u" + secrets.token_hex(5)


@dataclass
class Session:
    """A cookie login, sent by hand so the default ``Secure`` cookie works over plain http."""

    cookie: str
    csrf: str
    id: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"{COOKIE}={self.cookie}"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return headers


def cookie_value(response: httpx.Response, name: str = COOKIE) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


def register(client: httpx.Client, name: str | None = None, password: str = "correct horse") -> tuple[str, str]:
    name = name or new_name()
    response = client.post("/api/users", json={"username": name, "password": password})
    assert response.status_code == 201, response.text
    return name, password


def login(client: httpx.Client, name: str, password: str = "correct horse", **kw: object) -> Session:
    response = client.post("/api/session", json={"username": name, "password": password}, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    me = client.get("/api/me", headers={"Cookie": f"{COOKIE}={cookie_value(response)}"}).json()
    return Session(cookie_value(response), response.json()["csrf_token"], me["session_id"])


def tokens(client: httpx.Client, name: str, password: str = "correct horse") -> dict[str, object]:
    response = client.post("/api/token", json={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body  # type: ignore[no-any-return]
