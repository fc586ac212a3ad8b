"""Secrets handed to clients, and what the server keeps of them.

A session cookie and a refresh token are both *split tokens*: ``USER.LOGIN.SECRET``, where USER and
LOGIN are the public ids that locate the login record (under the user's hash tag) and SECRET is
256 random bits of which the store keeps only a hash.  Comparing hashes in constant time means the
lookup itself leaks nothing about the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

_ID = r"[A-Za-z0-9_-]{8,32}"
_SPLIT = re.compile(rf"^({_ID})\.({_ID})\.([A-Za-z0-9_-]{{43}})$")


def new_secret() -> str:
    """256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What the store keeps of a secret: 128 bits of its SHA-256."""
    return hashlib.sha256(secret.encode()).digest()[:16]


def same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


class SplitToken(NamedTuple):
    """``USER.LOGIN.SECRET``."""

    user_id: str
    login_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.user_id}.{self.login_id}.{self.secret}"

    def __repr__(self) -> str:  # never print the secret
        return f"SplitToken(user_id={self.user_id!r}, login_id={self.login_id!r}, secret=...)"

    @classmethod
    def parse(cls, value: str) -> SplitToken | None:
        match = _SPLIT.match(value) if len(value) < 128 else None
        return cls._make(match.groups()) if match else None


class Signer:
    """HMAC-SHA256 under a key derived from the deployment secret, one purpose per instance."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, f"passgate:{purpose}".encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "Signer(...)"

    def sign(self, message: str) -> str:
        mac = hmac.new(self._key, message.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode()

    def check(self, message: str, signature: str) -> bool:
        # A signature is base64url; anything else (a form field may hold any text) is simply wrong.
        return signature.isascii() and hmac.compare_digest(self.sign(message).encode(), signature.encode())
