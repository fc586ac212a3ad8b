"""The login record: one per login, behind a cookie or a pair of tokens, and its compact encoding."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["cookie", "token"]

#: Refresh tokens a login remembers (live and recently spent), for rotation and reuse detection.
MAX_REFRESH_ENTRIES = 6
MAX_USER_AGENT = 120


@dataclass(frozen=True)
class RefreshEntry:
    digest: bytes
    #: When it was rotated (0: still live).
    spent_at: float = 0.0


@dataclass(frozen=True)
class Login:
    id: str
    user_id: str
    username: str
    kind: Kind
    created_at: float
    last_seen_at: float
    expires_at: float
    idle_ttl: float
    user_agent: str
    ip: str
    #: Cookie logins: the digest of the session secret.
    secret_digest: bytes = b""
    #: Token logins: the refresh tokens issued, newest last.
    refresh: tuple[RefreshEntry, ...] = ()

    @property
    def idle_expires_at(self) -> float:
        return self.last_seen_at + self.idle_ttl

    @property
    def ends_at(self) -> float:
        return min(self.expires_at, self.idle_expires_at)

    def alive(self, now: float) -> bool:
        return now < self.ends_at

    def ttl(self, now: float) -> float:
        return max(0.001, self.ends_at - now)

    def seen(self, now: float) -> Login:
        return replace(self, last_seen_at=now)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def encode(login: Login) -> bytes:
    """Compact JSON: a login is a few hundred bytes at most, whatever the store."""
    fields = [
        1, login.user_id, login.username, login.kind[0], _ms(login.created_at), _ms(login.last_seen_at),
        _ms(login.expires_at), _ms(login.idle_ttl), login.user_agent[:MAX_USER_AGENT], login.ip,
        _b64(login.secret_digest), [[_b64(e.digest), _ms(e.spent_at)] for e in login.refresh],
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def decode(login_id: str, data: bytes) -> Login:
    (_, user_id, username, kind, created, seen, expires, idle, agent, ip, secret, refresh) = json.loads(data)
    return Login(
        id=login_id, user_id=user_id, username=username, kind="cookie" if kind == "c" else "token",
        created_at=created / 1000, last_seen_at=seen / 1000, expires_at=expires / 1000, idle_ttl=idle / 1000,
        user_agent=agent, ip=ip, secret_digest=_unb64(secret),
        refresh=tuple(RefreshEntry(_unb64(d), spent / 1000) for d, spent in refresh),
    )
