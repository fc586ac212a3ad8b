"""One statement against the identity part's tables, its database errors mapped at the boundary."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import StoreUnavailable


async def run(engine: AsyncEngine, statement: Any, *, write: bool) -> Any:
    """The statement's result, in a transaction of its own when it ``write``s.  IntegrityError
    passes on (what a clash means is the caller's to say); any other database failure is
    StoreUnavailable."""
    try:
        if write:
            async with engine.begin() as conn:
                return await conn.execute(statement)
        async with engine.connect() as conn:
            return await conn.execute(statement)
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise StoreUnavailable("the database failed") from exc
