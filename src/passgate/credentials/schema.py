"""The credentials part's tables: signing keys (:mod:`passgate.credentials.keys`) and the facts
that the first node started on a database fixes for the deployment (its issuer)."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

schema = MetaData()

deployment_facts = Table(
    "deployment_facts", schema, Column("name", String(64), primary_key=True), Column("value", Text, nullable=False)
)


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
