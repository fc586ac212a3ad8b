"""Accounts' email addresses and whether each is verified: passgate's ``user_emails`` table.

The table is keyed by the user's id alone (no foreign key to ``users``), so it serves a deployment
that keeps its users in the application's own model too: those users get their addresses here,
beside passgate's other tables.  An account has at most one address; a *verified* address belongs
to one account (a partial unique index), while an unverified one may be claimed by several, so
that nobody can squat on another person's address by typing it first.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Float, Index, MetaData, String, Table, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import EmailTaken, StoreUnavailable, ValidationFailed

#: The addresses' table, created for every deployment (whoever keeps the users).
schema = MetaData()

user_emails = Table(
    "user_emails",
    schema,
    Column("user_id", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("user_emails_verified_key", user_emails.c.email_key, unique=True,
      sqlite_where=text("verified"), postgresql_where=text("verified"))
Index("user_emails_key", user_emails.c.email_key)

#: What an address looks like, for the API's schema too (JavaScript's and Python's regexes read it alike):
#: a local part, ``@``, a dotted domain; no space, control character or the punctuation of mail headers.
_PART = r"\s\u0000-\u001f\u007f-\u009f@<>()\[\],;:\"\\"
EMAIL_PATTERN = rf"^[^{_PART}]{{1,64}}@[^{_PART}]+\.[^{_PART}.]+$"
EMAIL_MAX = 254
_ADDRESS = re.compile(EMAIL_PATTERN)
#: How long ``GET /api/me`` may answer from a node's memory of an address (another node's change shows within this).
CACHE_TTL = 1.0


def check_email(value: str) -> str:
    """The address as kept (its domain in lower case); ValidationFailed unless it looks deliverable."""
    address = value
    if len(address) > EMAIL_MAX or not _ADDRESS.fullmatch(address):
        raise ValidationFailed("email: not an email address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_key(value: str) -> str:
    """What addresses compare by: case folded (mail systems treat ``Ann@x`` and ``ann@x`` as one)."""
    return value.strip().casefold()


@dataclass(frozen=True)
class Email:
    """An account's address, and whether a mailed link has proved that its owner reads it."""

    user_id: str
    address: str
    verified: bool


class EmailRepository:
    """The ``user_emails`` table, on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine, self._clock = engine, clock
        self._cache: dict[str, tuple[float, Email | None]] = {}
        self._renewing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def cached(self, user_id: str) -> tuple[bool, Email | None]:
        """Whether this node remembers the account's address, and the address (None: none).

        Synchronous: the hot path waits on nothing.  A memory older than :data:`CACHE_TTL` is still
        answered while one read in the background renews it: were every request of a busy caller to
        wait for its own read when the memory expires, they would queue behind one another (p99
        seven times as long under wrk).  So an address is at most :data:`CACHE_TTL` and one read old.
        """
        hit = self._cache.get(user_id)
        if hit is None:
            return False, None
        if time.monotonic() - hit[0] >= CACHE_TTL and user_id not in self._renewing:
            self._renewing.add(user_id)
            task = asyncio.get_running_loop().create_task(self._renew(user_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True, hit[1]

    async def _renew(self, user_id: str) -> None:
        try:
            await self.get(user_id)
        except StoreUnavailable:
            pass  # the old memory stays; the next request tries again
        finally:
            self._renewing.discard(user_id)

    async def get(self, user_id: str, *, cached: bool = False) -> Email | None:
        """The account's address; ``cached``: from this node's memory when at most :data:`CACHE_TTL` old."""
        now = time.monotonic()
        if cached and (hit := self._cache.get(user_id)) and now - hit[0] < CACHE_TTL:
            return hit[1]
        rows = await self._rows(user_emails.c.user_id == user_id)
        found = rows[0] if rows else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (now, found)
        return found

    async def find_verified(self, address: str) -> Email | None:
        rows = await self._rows(user_emails.c.email_key == email_key(address), user_emails.c.verified.is_(True))
        return rows[0] if rows else None

    async def _rows(self, *where: object) -> list[Email]:
        try:
            async with self._engine.connect() as conn:
                result = await conn.execute(select(user_emails).where(*where))  # type: ignore[arg-type]
                return [Email(r.user_id, r.email, bool(r.verified)) for r in result]
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def set(self, user_id: str, address: str, *, verified: bool) -> Email:
        """Give the account this address (replacing its old one); EmailTaken when ``verified`` and
        another account has verified it."""
        address = check_email(address)
        values = {"user_id": user_id, "email": address, "email_key": email_key(address),
                  "verified": verified, "updated_at": float(self._clock())}
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(user_emails).values(**values)
        statement = statement.on_conflict_do_update(index_elements=["user_id"], set_=values)
        self._cache.pop(user_id, None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(statement)
        except IntegrityError as exc:
            raise EmailTaken("that address belongs to another account") from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return Email(user_id, address, verified)

    async def forget(self, user_id: str) -> None:
        """Drop the account's address (the account is gone)."""
        self._cache.pop(user_id, None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(user_emails).where(user_emails.c.user_id == user_id))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
