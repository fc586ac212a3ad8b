"""The few HTTP calls the lab makes to set a scenario up: register, log in, read the credential."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

#: A typical browser's User-Agent, kept in every login record the lab creates.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
PASSWORD = "correct horse battery staple"  # noqa: S105 (a benchmark account)


class SetupFailed(RuntimeError):
    """A server answered a setup request with something unexpected."""


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        raise SetupFailed(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                          f"{response.text[:300]}")
    return response


def cookie_pair(set_cookie: str) -> tuple[str, str]:
    """``name=value`` of a ``Set-Cookie`` header, split."""
    name, _, value = set_cookie.split(";", 1)[0].partition("=")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class CookieLogin:
    name: str
    value: str
    csrf_token: str

    @property
    def header(self) -> str:
        return f"{self.name}={self.value}"

    @property
    def ids(self) -> tuple[str, str]:
        """(user id, login id): a session cookie is ``USER.LOGIN.SECRET``."""
        user_id, login_id, _ = self.value.split(".")
        return user_id, login_id


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str

    @property
    def ids(self) -> tuple[str, str]:
        """(user id, login id): a refresh token is ``USER.LOGIN.SECRET.TAG``."""
        user_id, login_id, _, _ = self.refresh_token.split(".")
        return user_id, login_id


class Passgate:
    """A client of one ``passgate serve``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Passgate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register(self, username: str, password: str = PASSWORD) -> None:
        """Create the user; one that exists already (a restarted node on the same database) is fine."""
        _check(self.http.post("/api/users", json={"username": username, "password": password}), 201, 409)

    def cookie_login(self, username: str, password: str = PASSWORD) -> CookieLogin:
        answer = _check(self.http.post("/api/session", json={"username": username, "password": password}), 200)
        name, value = cookie_pair(answer.headers["set-cookie"])
        self.http.cookies.clear()
        return CookieLogin(name, value, answer.json()["csrf_token"])

    def token_login(self, username: str, password: str = PASSWORD) -> Tokens:
        answer = _check(self.http.post("/api/token", json={"username": username, "password": password}), 200)
        body = answer.json()
        return Tokens(body["access_token"], body["refresh_token"])

    def dpop_login(self, username: str, proof: str, password: str = PASSWORD) -> Tokens:
        """A token pair bound to the key that signed ``proof`` (for ``POST /api/token``)."""
        answer = _check(self.http.post("/api/token", json={"username": username, "password": password},
                                       headers={"DPoP": proof}), 200)
        body = answer.json()
        if body["token_type"] != "DPoP":  # noqa: S105  (a token type, not a secret)
            raise SetupFailed("a token request with a DPoP proof was answered with unbound tokens")
        return Tokens(body["access_token"], body["refresh_token"])

    def me(self, headers: dict[str, str]) -> int:
        return self.http.get("/api/me", headers=headers).status_code


class FastapiUsers:
    """A client of the peer app (fastapi-users)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def register(self, email: str, password: str = PASSWORD) -> None:
        _check(self.http.post("/auth/register", json={"email": email, "password": password}), 201)

    def bearer(self, email: str, password: str = PASSWORD) -> str:
        answer = _check(self.http.post("/auth/jwt/login", data={"username": email, "password": password}), 200)
        return str(answer.json()["access_token"])

    def cookie(self, email: str, password: str = PASSWORD) -> str:
        answer = _check(self.http.post("/auth/redis/login", data={"username": email, "password": password}), 204)
        name, value = cookie_pair(answer.headers["set-cookie"])
        return f"{name}={value}"

    def me(self, headers: dict[str, str]) -> int:
        return self.http.get("/users/me", headers=headers).status_code
