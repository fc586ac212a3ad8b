"""CSRF tokens: the session's (every unsafe cookie request sends it) and the pre-session form
token that the login and registration forms carry (login CSRF)."""

from __future__ import annotations

import secrets

from starlette.requests import Request

from passgate.credentials.records import Login
from passgate.credentials.secrets import Signer


class SessionCsrf:
    """A session's CSRF token: an HMAC of its login id under the deployment secret."""

    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, "csrf")

    def token(self, login: Login) -> str:
        return self._signer.sign(login.id)

    def check(self, login: Login, token: str | None) -> bool:
        return token is not None and self._signer.check(login.id, token)


class FormTokens:
    """The token of a form shown before any session exists.

    A random nonce lives in a ``__Host-`` cookie; the form carries its HMAC.  A foreign site can
    neither set the cookie nor compute the HMAC.
    """

    def __init__(self, secret: bytes, *, insecure: bool) -> None:
        self._signer = Signer(secret, "form")
        self.cookie = "passgate-form" if insecure else "__Host-passgate-form"
        self._secure = "" if insecure else "; Secure"

    def issue(self, request: Request) -> tuple[str, str | None]:
        """The form's token, and a ``Set-Cookie`` value when the browser has no nonce yet."""
        nonce = request.cookies.get(self.cookie, "")
        if 20 <= len(nonce) <= 64:
            return self._signer.sign(nonce), None
        nonce = secrets.token_urlsafe(24)
        cookie = f"{self.cookie}={nonce}; Path=/; HttpOnly; SameSite=Lax; Max-Age=7200{self._secure}"
        return self._signer.sign(nonce), cookie

    def check(self, request: Request, token: str | None) -> bool:
        nonce = request.cookies.get(self.cookie, "")
        return bool(nonce) and token is not None and self._signer.check(nonce, token)
