"""The relational database: users, posts and signing keys (SQLAlchemy 2 async).

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by ``--database-url``.  Every table is on
:data:`metadata`; :func:`create_schema` makes what is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from passgate.errors import ConfigError

metadata = MetaData()

#: Facts fixed by the first node started on the database (the issuer, for one).
deployment_facts = Table(
    "deployment_facts", metadata, Column("name", String(64), primary_key=True), Column("value", Text, nullable=False)
)


def open_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url.split('@')[-1]!r}") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        return create_async_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    raise ConfigError(f"unsupported database driver {parsed.drivername!r}; use sqlite+aiosqlite or postgresql+asyncpg")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables (idempotent; safe when several nodes start together)."""
    # Import for their side effect: each module puts its tables on `metadata`.
    import passgate.board.posts
    import passgate.credentials.keys
    import passgate.identity.users  # noqa: F401

    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, checkfirst=True)


async def claim_fact(engine: AsyncEngine, name: str, value: str) -> str:
    """The value stored under ``name``; ``value`` becomes it when none is stored yet."""
    async with engine.begin() as conn:
        row = (await conn.execute(select(deployment_facts.c.value).where(deployment_facts.c.name == name))).first()
        if row is not None:
            return str(row.value)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(deployment_facts).values(name=name, value=value))
    except IntegrityError:
        return await claim_fact(engine, name, value)
    return value
