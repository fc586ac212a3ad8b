"""The pre-session form token that the ``/login`` and ``/register`` forms carry (login CSRF).

A random nonce lives in a ``__Host-`` cookie; the form carries its HMAC.  A foreign site can
neither set the cookie nor compute the HMAC.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request

from passgate.credentials.secrets import Signer


class FormTokens:
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
