"""The login record: one per login, behind a cookie or a pair of tokens, and its compact encoding."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, replace
from typing import Literal

from passgate.credentials.devices import MAX_DEVICE_NAME, device_name

Kind = Literal["cookie", "token"]

#: Refresh tokens a login remembers (live and recently spent), for rotation and reuse detection.
MAX_REFRESH_ENTRIES = 6
MAX_USER_AGENT = MAX_DEVICE_NAME


def compact_user_agent(user_agent: str) -> str:
    """The user agent as the device list shows it, at most 120 characters: ``Chrome 126 on Linux``
    for ``Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0
    Safari/537.36`` (see :func:`passgate.credentials.devices.device_name`).  Called when a login
    is created: the record keeps the name, so login records stay small."""
    return device_name(user_agent)


@dataclass(frozen=True)
class RefreshEntry:
    digest: bytes
    #: When it was rotated (0: still live).
    spent_at: float = 0.0
    #: The answer its rotation gave, sealed (see :mod:`passgate.credentials.refresh`), kept for the
    #: race window so that a replay gets the same pair; empty once the window has passed.
    answer: bytes = b""


@dataclass(frozen=True)
class Login:
    """One login, behind a session cookie (``kind == "cookie"``) or a token pair (``"token"``), as the
    device list shows it.  Times are seconds since the epoch."""

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
    #: Token logins bound to a client's key (DPoP), and cookie logins bound to the browser's key (DBSC,
    #: :mod:`passgate.credentials.dbsc`): its RFC 7638 thumbprint; empty when unbound.
    jkt: str = ""
    #: How the user proved who they are: ``password``, ``password+totp``, ``password+recovery_code``.
    method: str = "password"

    @property
    def bound(self) -> bool:
        """Whether refreshing needs a proof by the client's key (DPoP; for a cookie login, DBSC)."""
        return bool(self.jkt)

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


# A record is packed with struct: a version byte, the kind, four times in milliseconds, then
# length-prefixed strings and digests.  About 100 bytes plus the user agent, whatever the store,
# and about 500 more for each refresh answer kept for the race window; version 3 ends with the
# bound key's thumbprint (32 bytes, or none); version 4 then says how the login was made (the
# method, ``password`` when empty).  Versions 2 (before kept answers and bound keys) and 3 (before
# methods) are still read, unbound and by password alone.
_VERSION = 4
_VERSIONS = (2, 3, 4)
_HEAD = struct.Struct("<BBQQQQ")
_ENTRY_V2 = struct.Struct("<16sQ")
_ENTRY = struct.Struct("<16sQH")


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _put(out: bytearray, data: bytes) -> None:
    out += len(data).to_bytes(1, "little") + data


def _text(value: str, limit: int = 255) -> bytes:
    return value.encode()[:limit].decode(errors="ignore").encode()


def encode(login: Login) -> bytes:
    out = bytearray(_HEAD.pack(
        _VERSION, login.kind == "token", _ms(login.created_at), _ms(login.last_seen_at),
        _ms(login.expires_at), _ms(login.idle_ttl),
    ))
    for text in (login.user_id, login.username, login.user_agent[:MAX_USER_AGENT], login.ip):
        _put(out, _text(text))
    _put(out, login.secret_digest)
    out.append(len(login.refresh))
    for entry in login.refresh:
        out += _ENTRY.pack(entry.digest, _ms(entry.spent_at), len(entry.answer)) + entry.answer
    _put(out, base64.urlsafe_b64decode(login.jkt + "=") if login.jkt else b"")
    _put(out, b"" if login.method == "password" else _text(login.method))
    return bytes(out)


def decode(login_id: str, data: bytes) -> Login:
    version, token, created, seen, expires, idle = _HEAD.unpack_from(data)
    if version not in _VERSIONS:
        raise ValueError(f"unknown login record version {version}")
    at = _HEAD.size
    fields: list[bytes] = []
    for _ in range(5):
        size = data[at]
        fields.append(data[at + 1 : at + 1 + size])
        at += 1 + size
    user_id, username, agent, ip = (f.decode() for f in fields[:4])
    refresh, at = _entries(data, at, version)
    key = data[at + 1 : at + 1 + data[at]] if version >= 3 and at < len(data) else b""
    at += 1 + len(key)
    method = data[at + 1 : at + 1 + data[at]].decode() if version >= 4 and at < len(data) else ""
    return Login(
        id=login_id, user_id=user_id, username=username, kind="token" if token else "cookie",
        created_at=created / 1000, last_seen_at=seen / 1000, expires_at=expires / 1000, idle_ttl=idle / 1000,
        user_agent=agent, ip=ip, secret_digest=fields[4], refresh=refresh,
        jkt=base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii") if key else "",
        method=method or "password",
    )


def _entries(data: bytes, at: int, version: int) -> tuple[tuple[RefreshEntry, ...], int]:
    """The refresh entries at ``at``, and where the record goes on after them."""
    count, at = data[at], at + 1
    if version == 2:
        entries = tuple(
            RefreshEntry(digest, spent / 1000)
            for digest, spent in (_ENTRY_V2.unpack_from(data, at + i * _ENTRY_V2.size) for i in range(count))
        )
        return entries, at + count * _ENTRY_V2.size
    kept = []
    for _ in range(count):
        digest, spent, size = _ENTRY.unpack_from(data, at)
        at += _ENTRY.size
        kept.append(RefreshEntry(digest, spent / 1000, data[at : at + size]))
        at += size
    return tuple(kept), at
