"""What an administrator has decided about an account: disabled or not.

A table of passgate's own, keyed by the user's id, so that it works the same for an application
that keeps its users in its own model.  An account without a row is enabled.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import StoreUnavailable

schema = MetaData()

account_states = Table(
    "account_states",
    schema,
    Column("user_id", String(32), primary_key=True),
    #: When the account was disabled; NULL: enabled.
    Column("disabled_at", Float, nullable=True),
)


class AccountStates:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine, self._clock = engine, clock

    async def disabled(self, user_id: str) -> bool:
        try:
            async with self._engine.connect() as conn:
                row = (await conn.execute(
                    select(account_states.c.disabled_at).where(account_states.c.user_id == user_id)
                )).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return row is not None and row.disabled_at is not None

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        at = self._clock() if disabled else None
        try:
            async with self._engine.begin() as conn:
                changed = await conn.execute(
                    update(account_states).where(account_states.c.user_id == user_id).values(disabled_at=at)
                )
                if not changed.rowcount:
                    await conn.execute(insert(account_states).values(user_id=user_id, disabled_at=at))
        except IntegrityError:
            await self.set_disabled(user_id, disabled)  # another node wrote the row first: update it
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def forget(self, user_id: str) -> None:
        """The account is gone: so is what was decided about it."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(account_states).where(account_states.c.user_id == user_id))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
