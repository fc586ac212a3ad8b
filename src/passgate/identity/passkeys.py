"""Passkeys (WebAuthn credentials) of an account, passgate's ``user_passkeys`` table.

A row keeps what a login with the passkey needs: the credential's id (unique across the
deployment: the authenticator names it, and the login looks the account up by it), its COSE public
key, the authenticator's sign counter and transports.  Nothing here is secret: the private key
never leaves the authenticator.

The sign counter only grows: a login takes it by a conditional ``UPDATE`` (``sign_count < new``,
or both zero for an authenticator that keeps no counter), so of two logins racing with one
counter value, exactly one wins, and a cloned authenticator that lags behind is refused.
Like :mod:`passgate.identity.totp`, the table is keyed by the user's id alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, LargeBinary, MetaData, String, Table, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import WebauthnFailed
from passgate.identity.sql import run
from passgate.ids import new_id

__all__ = ["MAX_NAME", "Passkey", "PasskeyRepository", "schema"]

#: The passkeys' table, created for every deployment (whoever keeps the users).
schema = MetaData()

#: A credential id is at most 1023 bytes (WebAuthn L3 §5.1): 1364 characters of base64url.
CREDENTIAL_ID_MAX = 1364
MAX_NAME = 64

user_passkeys = Table(
    "user_passkeys",
    schema,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("credential_id", String(CREDENTIAL_ID_MAX), nullable=False, unique=True),  # base64url
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key, as the authenticator sent it
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", String(200), nullable=False),  # comma-separated: usb, nfc, ble, internal, hybrid…
    Column("name", String(MAX_NAME * 4), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=True),
    Index("user_passkeys_user", "user_id"),
)


@dataclass(frozen=True)
class Passkey:
    """One passkey of an account, as the account's owner sees it, and what verifies its logins."""

    id: str
    user_id: str
    credential_id: str
    name: str
    created_at: float
    last_used_at: float | None
    sign_count: int
    transports: tuple[str, ...]
    public_key: bytes = field(repr=False)


def _passkey(row: Any) -> Passkey:
    transports = tuple(t for t in str(row.transports).split(",") if t)
    return Passkey(row.id, row.user_id, row.credential_id, row.name, float(row.created_at),
                   None if row.last_used_at is None else float(row.last_used_at), int(row.sign_count),
                   transports, bytes(row.public_key))


class PasskeyRepository:
    """The ``user_passkeys`` table, on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine, self._clock = engine, clock

    def __repr__(self) -> str:
        return "PasskeyRepository(...)"

    async def _run(self, statement: Any, *, write: bool) -> Any:
        try:
            return await run(self._engine, statement, write=write)
        except IntegrityError as exc:
            raise WebauthnFailed("credential id registered already", registration=True,
                                 detail="this passkey is registered already") from exc

    async def add(self, user_id: str, *, credential_id: str, public_key: bytes, sign_count: int,
                  transports: tuple[str, ...], name: str) -> Passkey:
        """A new passkey of ``user_id``; WebauthnFailed (registration) when its credential is registered already."""
        passkey = Passkey(new_id(), user_id, credential_id, name, float(self._clock()), None, sign_count,
                          transports, public_key)
        await self._run(user_passkeys.insert().values(
            id=passkey.id, user_id=user_id, credential_id=credential_id, public_key=public_key,
            sign_count=sign_count, transports=",".join(transports), name=name, created_at=passkey.created_at,
            last_used_at=None), write=True)
        return passkey

    async def list(self, user_id: str) -> list[Passkey]:
        """The account's passkeys, oldest first."""
        statement = select(user_passkeys).where(user_passkeys.c.user_id == user_id).order_by(
            user_passkeys.c.created_at, user_passkeys.c.id)
        return [_passkey(row) for row in (await self._run(statement, write=False)).all()]

    async def count(self, user_id: str) -> int:
        statement = select(func.count()).select_from(user_passkeys).where(user_passkeys.c.user_id == user_id)
        return int((await self._run(statement, write=False)).scalar_one())

    async def find(self, credential_id: str) -> Passkey | None:
        """The passkey whose credential id (base64url) this is."""
        if len(credential_id) > CREDENTIAL_ID_MAX or "\x00" in credential_id:
            return None
        statement = select(user_passkeys).where(user_passkeys.c.credential_id == credential_id)
        row = (await self._run(statement, write=False)).first()
        return None if row is None else _passkey(row)

    async def use(self, passkey_id: str, sign_count: int) -> bool:
        """Record a login with the passkey whose authenticator now counts ``sign_count``: True for the
        one login that took it, False when the counter did not grow past the one kept (or the passkey
        is gone)."""
        grows = user_passkeys.c.sign_count < sign_count
        statement = user_passkeys.update().where(
            user_passkeys.c.id == passkey_id,
            grows if sign_count else or_(grows, user_passkeys.c.sign_count == 0),
        ).values(sign_count=sign_count, last_used_at=float(self._clock()))
        return bool((await self._run(statement, write=True)).rowcount)

    async def remove(self, user_id: str, passkey_id: str) -> Passkey | None:
        """Remove one passkey of the account; the one removed, or None when it is not theirs."""
        if "\x00" in passkey_id:  # PostgreSQL refuses NUL in text: no such passkey, not a database failure
            return None
        statement = select(user_passkeys).where(user_passkeys.c.id == passkey_id[:64],
                                                user_passkeys.c.user_id == user_id)
        row = (await self._run(statement, write=False)).first()
        if row is None:
            return None
        gone = await self._run(delete(user_passkeys).where(user_passkeys.c.id == row.id,
                                                           user_passkeys.c.user_id == user_id), write=True)
        return _passkey(row) if gone.rowcount else None

    async def remove_all(self, user_id: str) -> int:
        """Remove every passkey of the account; how many there were."""
        gone = await self._run(delete(user_passkeys).where(user_passkeys.c.user_id == user_id), write=True)
        return int(gone.rowcount)
