"""Second factors of an account: a TOTP secret (RFC 6238) and ten single-use recovery codes,
passgate's ``user_totp`` and ``user_recovery_codes`` tables.

The secret is sealed at rest with AES-256-GCM under a key derived (HKDF-SHA256) from the deployment
secret, the user's id as associated data, as the signing keys and the mail outbox are.  Recovery codes
are kept as HMAC-SHA256 digests under another key derived from it: a copy of the database alone
cannot try the 2^50 codes offline.

A TOTP code is never accepted twice: the last time step used is kept in the account's row, and a
step is taken by a conditional ``UPDATE`` (``last_step < step``), so of several nodes racing with one
code, exactly one wins.  A recovery code is spent by a ``DELETE`` whose row count decides the same way.
Like :mod:`passgate.identity.emails`, the tables are keyed by the user's id alone.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import BigInteger, Boolean, Column, Float, LargeBinary, MetaData, String, Table, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from passgate.errors import ConfigError, StoreUnavailable
from passgate.identity.sql import run

__all__ = ["RECOVERY_CODES", "STEP", "TotpRepository", "TotpState", "new_recovery_codes", "schema"]

#: The second factors' tables, created for every deployment (whoever keeps the users).
schema = MetaData()

user_totp = Table(
    "user_totp",
    schema,
    Column("user_id", String(64), primary_key=True),
    Column("secret", LargeBinary, nullable=False),  # version byte, nonce, AES-GCM ciphertext
    Column("enabled", Boolean, nullable=False),
    Column("last_step", BigInteger, nullable=False),  # the newest time step accepted (0: none yet)
    Column("created_at", Float, nullable=False),
)
user_recovery_codes = Table(
    "user_recovery_codes",
    schema,
    Column("user_id", String(64), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
)

#: RFC 6238's defaults, which every authenticator app reads: SHA-1, 6 digits, 30 s.
STEP = 30
DIGITS = 6
#: Steps either side of now that a code may be for (clock drift between phone and server).
DRIFT = 1
RECOVERY_CODES = 10
_SEAL_VERSION = b"\x01"
#: Recovery codes: ten characters of an alphabet without look-alikes (0/o, 1/l/i), shown as ``xxxxx-xxxxx``.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY = re.compile(rf"^[{_ALPHABET}]{{10}}$")
_TOTP = re.compile(rf"^[0-9]{{{DIGITS}}}$")


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh recovery codes, about 49 random bits each."""
    return ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2)) for _ in range(count)]


def _plain(code: str) -> str:
    """A code as typed, without spaces, dashes and case."""
    return re.sub(r"[\s-]", "", code)[:64].lower()


@dataclass(frozen=True)
class TotpState:
    """An account's TOTP: pending (shown, not yet confirmed) or enabled."""

    user_id: str
    enabled: bool
    last_step: int
    secret: str = field(repr=False)

    def matching_step(self, code: str, now: float) -> int | None:
        """The time step within the drift window whose code this is, or None."""
        plain = _plain(code)
        if not _TOTP.match(plain):
            return None
        otp = pyotp.TOTP(self.secret, digits=DIGITS, interval=STEP)
        current = int(now // STEP)
        found = None
        for step in range(current - DRIFT, current + DRIFT + 1):
            if hmac.compare_digest(otp.generate_otp(step), plain):
                found = step
        return found


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(name=account, issuer_name=issuer)


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


class TotpRepository:
    """The ``user_totp`` and ``user_recovery_codes`` tables, on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) != 32:
            raise ConfigError("the deployment secret must be 32 bytes")
        self._engine, self._clock = engine, clock
        self._aead = AESGCM(_derive(secret, b"passgate:totp-secret/v1"))
        self._pepper = _derive(secret, b"passgate:recovery-codes/v1")

    def __repr__(self) -> str:
        return "TotpRepository(...)"

    def _seal(self, user_id: str, secret: str) -> bytes:
        nonce = os.urandom(12)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), user_id.encode())

    def _open(self, user_id: str, sealed: bytes) -> str:
        try:
            if sealed[:1] != _SEAL_VERSION:
                raise InvalidTag
            return self._aead.decrypt(sealed[1:13], sealed[13:], user_id.encode()).decode()
        except InvalidTag:
            raise ConfigError("a TOTP secret cannot be decrypted: the deployment secret is not the one it was "
                              "sealed with (check --secret or the data dir's secret.key)") from None

    def recovery_digest(self, user_id: str, code: str) -> str:
        return hmac.new(self._pepper, f"{user_id}:{_plain(code)}".encode(), hashlib.sha256).hexdigest()

    async def _run(self, statement: Any, *, write: bool) -> Any:
        return await run(self._engine, statement, write=write)

    async def get(self, user_id: str) -> TotpState | None:
        row = (await self._run(select(user_totp).where(user_totp.c.user_id == user_id), write=False)).first()
        if row is None:
            return None
        return TotpState(user_id, bool(row.enabled), int(row.last_step), self._open(user_id, row.secret))

    async def enabled(self, user_id: str) -> bool:
        """Whether the account has TOTP on (one indexed read, nothing decrypted: every login asks)."""
        statement = select(user_totp.c.enabled).where(user_totp.c.user_id == user_id)
        return bool((await self._run(statement, write=False)).scalar())

    async def set_pending(self, user_id: str, secret: str) -> bool:
        """Keep ``secret`` as the account's pending TOTP (replacing a pending one); False when TOTP is on."""
        sealed, now = self._seal(user_id, secret), float(self._clock())
        try:
            async with self._engine.begin() as conn:
                gone = await conn.execute(delete(user_totp).where(user_totp.c.user_id == user_id,
                                                                  user_totp.c.enabled.is_(False)))
                if not gone.rowcount and await self._exists(conn, user_id):
                    return False
                await conn.execute(user_totp.insert().values(user_id=user_id, secret=sealed, enabled=False,
                                                             last_step=0, created_at=now))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return True

    @staticmethod
    async def _exists(conn: AsyncConnection, user_id: str) -> bool:
        return (await conn.execute(select(user_totp.c.user_id).where(user_totp.c.user_id == user_id))).first() \
            is not None

    async def take_step(self, user_id: str, step: int, *, enabled: bool) -> bool:
        """Record ``step`` as used if it is newer than every step used before; True for the one caller that did."""
        statement = user_totp.update().where(
            user_totp.c.user_id == user_id, user_totp.c.last_step < step, user_totp.c.enabled.is_(enabled),
        ).values(last_step=step)
        return bool((await self._run(statement, write=True)).rowcount)

    async def enable(self, user_id: str, step: int, codes: list[str]) -> bool:
        """Turn the pending TOTP on (its first code's ``step`` spent) with these recovery codes; False if
        another request confirmed it first, or the code's step was used already."""
        now = float(self._clock())
        try:
            async with self._engine.begin() as conn:
                taken = await conn.execute(user_totp.update().where(
                    user_totp.c.user_id == user_id, user_totp.c.enabled.is_(False), user_totp.c.last_step < step,
                ).values(enabled=True, last_step=step))
                if not taken.rowcount:
                    return False
                await conn.execute(delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id))
                await conn.execute(user_recovery_codes.insert(), [
                    {"user_id": user_id, "digest": self.recovery_digest(user_id, code), "created_at": now}
                    for code in codes
                ])
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return True

    async def has_recovery(self, user_id: str, code: str) -> bool:
        """Whether ``code`` is one of the account's unspent recovery codes."""
        if not _RECOVERY.match(_plain(code)):
            return False
        statement = select(user_recovery_codes.c.digest).where(
            user_recovery_codes.c.user_id == user_id,
            user_recovery_codes.c.digest == self.recovery_digest(user_id, code))
        return (await self._run(statement, write=False)).first() is not None

    async def spend_recovery(self, user_id: str, code: str) -> bool:
        """Spend one recovery code; True for the one caller that did."""
        if not _RECOVERY.match(_plain(code)):
            return False
        statement = delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id,
                                                      user_recovery_codes.c.digest == self.recovery_digest(user_id,
                                                                                                           code))
        return bool((await self._run(statement, write=True)).rowcount)

    async def recovery_left(self, user_id: str) -> int:
        statement = select(func.count()).select_from(user_recovery_codes).where(
            user_recovery_codes.c.user_id == user_id)
        return int((await self._run(statement, write=False)).scalar_one())

    async def remove(self, user_id: str) -> bool:
        """Turn every factor of the account off; True when one was on (or pending)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id))
                gone = await conn.execute(delete(user_totp).where(user_totp.c.user_id == user_id))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return bool(gone.rowcount)
