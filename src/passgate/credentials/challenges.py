"""The second step of a login: an ``mfa_token`` stands for a password already checked.

A token is 256 random bits; the store keeps only its SHA-256 as the key, under which it keeps whose
password it was (and a digest of the password hash it matched: a password changed meanwhile kills
the token), which kind of login it leads to and the DPoP key (if any) of the client that asked.
It lives at most ``ttl`` seconds (five minutes), and works once: finishing the login deletes it,
and of several nodes finishing it together, the delete's count lets exactly one through.  Being in
the store, it can be finished on any node of the deployment.

A passkey ceremony's challenge (:class:`WebauthnChallenges`) is kept the same way: hashed, for
minutes, spent by a delete, so any node may finish what another began.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from passgate.errors import MfaTokenInvalid, WebauthnFailed
from passgate.stores.base import Store

__all__ = ["MFA_TOKEN_TTL", "WEBAUTHN_TTL", "Challenge", "MfaChallenges", "WebauthnChallenge", "WebauthnChallenges",
           "hash_digest"]

#: How long an ``mfa_token`` lives (the contract's five minutes), seconds.
MFA_TOKEN_TTL = 300.0
Purpose = Literal["session", "token"]
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Challenge:
    """What an unexpired ``mfa_token`` stands for."""

    user_id: str
    purpose: Purpose
    jkt: str
    expires_at: float
    #: :func:`hash_digest` of the password hash the password matched.
    password: str = ""


def hash_digest(password_hash: str) -> str:
    """What a challenge keeps of the account's password hash (to tell that it changed, not to check a password)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def _key(token: str) -> str:
    return "pg:mfa:" + hashlib.sha256(token.encode()).hexdigest()


class MfaChallenges:
    def __init__(self, store: Store, *, ttl: float = MFA_TOKEN_TTL, clock: Callable[[], float] = time.time) -> None:
        self._store, self.ttl, self._clock = store, min(ttl, MFA_TOKEN_TTL), clock

    async def issue(self, user_id: str, purpose: Purpose, *, jkt: str = "", password_hash: str = "") -> str:
        """A fresh ``mfa_token`` for ``user_id``, whose password was just checked against ``password_hash``."""
        expires_at = self._clock() + self.ttl
        value = json.dumps({"u": user_id, "p": purpose, "j": jkt, "e": expires_at,
                            "h": hash_digest(password_hash)}).encode()
        while True:
            token = secrets.token_urlsafe(32)
            if await self._store.set_if_absent(_key(token), value, self.ttl):
                return token

    async def find(self, token: str, purpose: Purpose) -> Challenge:
        """The challenge ``token`` stands for; MfaTokenInvalid when unknown, spent, expired or for
        another kind of login."""
        if not _TOKEN.match(token):
            raise MfaTokenInvalid("mfa_token: malformed")
        raw = await self._store.get(_key(token))
        if raw is None:
            raise MfaTokenInvalid("mfa_token: unknown, spent or expired")
        data = json.loads(raw)
        challenge = Challenge(str(data["u"]), data["p"], str(data["j"]), float(data["e"]), str(data.get("h", "")))
        if challenge.expires_at <= self._clock():
            raise MfaTokenInvalid("mfa_token: expired")
        if challenge.purpose != purpose:
            raise MfaTokenInvalid("mfa_token: for another kind of login")
        return challenge

    async def spend(self, token: str) -> bool:
        """Delete the token; True for the one caller that did."""
        return bool(await self._store.delete(_key(token)))


# -- WebAuthn ceremonies ------------------------------------------------------------------------

#: How long a passkey ceremony's challenge lives, seconds (the options' ``timeout`` says the same).
WEBAUTHN_TTL = 300.0
#: The random bytes of a challenge (WebAuthn asks at least 16).
CHALLENGE_BYTES = 32
Ceremony = Literal["register", "login"]


@dataclass(frozen=True)
class WebauthnChallenge:
    """What an issued WebAuthn challenge was for: the ceremony, the account (registration), and
    the relying party and origin the options named."""

    ceremony: Ceremony
    user_id: str
    rp_id: str
    origin: str
    expires_at: float


def _ceremony_key(challenge: bytes) -> str:
    return "pg:wa:" + hashlib.sha256(challenge).hexdigest()


class WebauthnChallenges:
    """Single-use challenges of passkey ceremonies, in the store (hashed), so that any node finishes
    a ceremony that another began.  The client sends the challenge back inside its signed
    ``clientDataJSON``; :meth:`take` deletes it, and the delete's count lets exactly one request through."""

    def __init__(self, store: Store, *, ttl: float = WEBAUTHN_TTL, clock: Callable[[], float] = time.time) -> None:
        self._store, self.ttl, self._clock = store, ttl, clock

    async def issue(self, ceremony: Ceremony, *, rp_id: str, origin: str, user_id: str = "") -> bytes:
        """A fresh challenge for ``ceremony`` at ``origin`` (and for ``user_id``'s registration)."""
        expires_at = self._clock() + self.ttl
        value = json.dumps({"c": ceremony, "u": user_id, "r": rp_id, "o": origin, "e": expires_at}).encode()
        while True:
            challenge = secrets.token_bytes(CHALLENGE_BYTES)
            if await self._store.set_if_absent(_ceremony_key(challenge), value, self.ttl):
                return challenge

    async def take(self, challenge: bytes, ceremony: Ceremony) -> WebauthnChallenge:
        """Spend ``challenge``: what it was issued for; WebauthnFailed when it is unknown, spent,
        expired, or for the other ceremony."""
        registration = ceremony == "register"
        if len(challenge) != CHALLENGE_BYTES:
            raise WebauthnFailed("challenge: not one passgate issues", registration=registration)
        key = _ceremony_key(challenge)
        raw = await self._store.get(key)
        if raw is None or not await self._store.delete(key):
            raise WebauthnFailed("challenge: unknown, spent or expired", registration=registration)
        data = json.loads(raw)
        found = WebauthnChallenge(data["c"], str(data["u"]), str(data["r"]), str(data["o"]), float(data["e"]))
        if found.expires_at <= self._clock():
            raise WebauthnFailed("challenge: expired", registration=registration)
        if found.ceremony != ceremony:
            raise WebauthnFailed("challenge: issued for another ceremony", registration=registration)
        return found
