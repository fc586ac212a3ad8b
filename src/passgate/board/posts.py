"""Posts in the relational database, in the board's own tables.

Authors are named through the deployment's user repository, not by a join: the board owns its
tables, passgate (or the application) owns the users.  A post whose author is gone shows no author.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, Select, String, Table, Text, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate import StoreUnavailable, UserRepository, ValidationFailed

#: The board's tables, created only where the board runs.
schema = MetaData()

posts = Table(
    "posts",
    schema,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("author_id", String(32), nullable=True, index=True),
    Column("title", String(800), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

#: What a deleted post leaves: its id and place, so that a page cursor naming it still works.
deleted_posts = Table(
    "deleted_posts",
    schema,
    Column("id", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),
)

TITLE_MAX, BODY_MAX = 200, 10_000
#: What a blank title is made of: what ``str.strip`` strips (Python's whitespace) and what
#: ECMA-262's ``\s`` matches beside it (U+FEFF), so that the title's pattern means the same to a
#: generated client as to this server.
BLANK = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_BLANK_CLASS = "\\t-\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
#: The title's pattern (ECMA-262 and Python alike): some character that is not blank, and no NUL.
TITLE_PATTERN = f"^[^\\u0000]*[^\\u0000{_BLANK_CLASS}][^\\u0000]*$"
NO_NUL = "^[^\\u0000]*$"


@dataclass(frozen=True)
class Post:
    id: str
    title: str
    body: str
    author_id: str | None
    author_name: str | None
    created_at: float


def check_post(title: str, body: str) -> tuple[str, str]:
    if not title.strip(BLANK) or len(title) > TITLE_MAX:
        raise ValidationFailed(f"a title has 1 to {TITLE_MAX} characters and is not blank")
    if len(body) > BODY_MAX:
        raise ValidationFailed(f"a body has at most {BODY_MAX} characters")
    if "\x00" in title or "\x00" in body:
        raise ValidationFailed("a post cannot contain NUL")
    return title, body


class PostRepository:
    def __init__(self, engine: AsyncEngine, users: UserRepository) -> None:
        self._engine, self._users = engine, users
        self._query = select(posts.c.id, posts.c.title, posts.c.body, posts.c.author_id, posts.c.created_at)

    async def create_schema(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(schema.create_all, checkfirst=True)

    async def create(self, author_id: str, title: str, body: str) -> Post:
        title, body = check_post(title, body)
        post_id = secrets.token_urlsafe(12)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(posts).values(
                    id=post_id, author_id=author_id, title=title, body=body, created_at=time.time()
                ))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        post = await self.get(post_id)
        assert post is not None
        return post

    async def get(self, post_id: str) -> Post | None:
        rows = await self._rows(self._query.where(posts.c.id == post_id[:64]))
        return rows[0] if rows else None

    async def page(self, *, limit: int = 20, before: str | None = None) -> list[Post]:
        """Newest first; ``before`` is a post id this server issued (ValidationFailed otherwise)."""
        query = self._query
        if before is not None:
            seq = await self._seq(before)
            if seq is None:
                raise ValidationFailed("before: not a post id")
            query = query.where(posts.c.seq < seq)
        return await self._rows(query.order_by(posts.c.seq.desc()).limit(limit))

    async def _seq(self, post_id: str) -> int | None:
        """The place of a post this server issued, deleted or not."""
        post_id = post_id[:64]
        try:
            async with self._engine.connect() as conn:
                for table in (posts, deleted_posts):
                    seq = (await conn.execute(select(table.c.seq).where(table.c.id == post_id))).scalar()
                    if seq is not None:
                        return int(seq)
                return None
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def _rows(self, query: Select[Any]) -> list[Post]:
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        names = await self._authors({r.author_id for r in rows if r.author_id})
        return [Post(r.id, r.title, r.body, r.author_id if r.author_id in names else None, names.get(r.author_id),
                     r.created_at) for r in rows]

    async def _authors(self, ids: set[str]) -> dict[str, str]:
        """The names of the authors that still have an account."""
        users = [await self._users.get(author) for author in sorted(ids)]
        return {user.id: user.username for user in users if user is not None}

    async def delete(self, post_id: str) -> None:
        try:
            async with self._engine.begin() as conn:
                seq = (await conn.execute(delete(posts).where(posts.c.id == post_id).returning(posts.c.seq))).scalar()
                if seq is not None:
                    await conn.execute(insert(deleted_posts).values(id=post_id, seq=seq))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
