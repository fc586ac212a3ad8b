"""What an administrator has decided about an account: disabled or not, and its roles.

Tables of passgate's own, keyed by the user's id, so that they work the same for an application
that keeps its users in its own model.  An account without a row is enabled and has no role.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import ConfigError, ValidationFailed
from passgate.identity.sql import run

schema = MetaData()

account_states = Table(
    "account_states",
    schema,
    Column("user_id", String(32), primary_key=True),
    #: When the account was disabled; NULL: enabled.
    Column("disabled_at", Float, nullable=True),
)

#: A role name: what ``require_role`` asks for (``admin``, ``moderator``).
ROLE_MAX = 64

user_roles = Table(
    "user_roles",
    schema,
    Column("user_id", String(32), primary_key=True),
    Column("role", String(ROLE_MAX), primary_key=True),
)


def check_role(role: str) -> str:
    """A role name: 1 to 64 of ASCII letters, digits, ``_``, ``-``, ``.`` and ``:`` (ValidationFailed)."""
    if not (0 < len(role) <= ROLE_MAX and role.isascii() and all(c.isalnum() or c in "_-.:" for c in role)):
        raise ValidationFailed("a role is 1 to 64 ASCII letters, digits, '_', '-', '.' or ':'")
    return role


def wanted_roles(roles: Iterable[str], guard: str) -> frozenset[str]:
    """The roles a route's guard asks for, checked when the app is built (ConfigError)."""
    try:
        wanted = frozenset(check_role(role) for role in roles)
    except ValidationFailed as exc:
        raise ConfigError(f"{guard}: {exc.detail}") from exc
    if not wanted:
        raise ConfigError(f"{guard} needs at least one role")
    return wanted


class AccountStates:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine, self._clock = engine, clock

    async def disabled(self, user_id: str) -> bool:
        query = select(account_states.c.disabled_at).where(account_states.c.user_id == user_id)
        row = (await run(self._engine, query, write=False)).first()
        return row is not None and row.disabled_at is not None

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        at = self._clock() if disabled else None
        changed = await run(self._engine, update(account_states).where(account_states.c.user_id == user_id)
                            .values(disabled_at=at), write=True)
        if changed.rowcount:
            return
        try:
            await run(self._engine, insert(account_states).values(user_id=user_id, disabled_at=at), write=True)
        except IntegrityError:
            await self.set_disabled(user_id, disabled)  # another node wrote the row first: update it

    async def roles(self, user_id: str) -> tuple[str, ...]:
        """The user's roles, sorted."""
        query = select(user_roles.c.role).where(user_roles.c.user_id == user_id).order_by(user_roles.c.role)
        return tuple(row.role for row in (await run(self._engine, query, write=False)).all())

    async def grant(self, user_id: str, role: str) -> bool:
        """Give the user ``role``; False when they had it."""
        try:
            await run(self._engine, insert(user_roles).values(user_id=user_id, role=check_role(role)), write=True)
        except IntegrityError:
            return False
        return True

    async def revoke(self, user_id: str, role: str) -> bool:
        """Take ``role`` from the user; False when they did not have it."""
        gone = await run(self._engine, delete(user_roles).where(user_roles.c.user_id == user_id,
                                                                  user_roles.c.role == role), write=True)
        return bool(gone.rowcount)

    async def forget(self, user_id: str) -> None:
        """The account is gone: so is what was decided about it."""
        await run(self._engine, delete(user_roles).where(user_roles.c.user_id == user_id), write=True)
        await run(self._engine, delete(account_states).where(account_states.c.user_id == user_id), write=True)
