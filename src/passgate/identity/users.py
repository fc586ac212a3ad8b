"""Users in the relational database, and the protocol an application's own user model satisfies."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import StoreUnavailable, UsernameTaken, ValidationFailed
from passgate.identity.names import username_key, username_skeleton
from passgate.ids import new_id

#: The identity part's tables: only the default user repository's, created only when it is used.
schema = MetaData()

users = Table(
    "users",
    schema,
    Column("id", String(32), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("username_key", String(256), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

#: Each user's :func:`username_skeleton`, unique, so that no name looks like another; a table of
#: its own so that a database written before it keeps working (its names are filled in, see
#: :meth:`SqlUserRepository.create`).
skeletons = Table(
    "username_skeletons",
    schema,
    Column("skeleton", String(512), primary_key=True),
    Column("user_id", String(32), nullable=False, unique=True),
)


@dataclass(frozen=True)
class User:
    """A user as passgate needs one: an opaque id, the normalised name and the argon2id hash."""

    id: str
    username: str
    password_hash: str
    created_at: float


class UserRepository(Protocol):
    """What passgate needs from wherever an application keeps its users.

    An implementation keeps ids opaque and unguessable, compares names by :func:`username_key`
    (NFKC, then case folding) and raises :class:`~passgate.errors.UsernameTaken` on a clash, and
    turns its database's errors into :class:`~passgate.errors.StoreUnavailable`.
    """

    async def create(self, username: str, password_hash: str, **fields: Any) -> User:
        """A new user; ``fields`` are the extra fields of a registration (``install(registration=...)``)."""
        ...

    async def get(self, user_id: str) -> User | None: ...
    async def find(self, username: str) -> User | None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    async def delete(self, user_id: str) -> bool: ...


class SqlUserRepository:
    """The default user table, on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine, *, clock: object = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._filled = False

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def create(self, username: str, password_hash: str, **fields: Any) -> User:
        """A new user; UsernameTaken when the name, or one that looks like it, is taken.  This table
        keeps no fields of an application's (ValidationFailed): that needs the application's own model
        (:class:`passgate.ModelUserRepository`)."""
        if fields:
            raise ValidationFailed(f"no such field: {', '.join(sorted(fields))}")
        user = User(new_id(), username, password_hash, float(self._clock()))  # type: ignore[operator]
        try:
            await self._fill_skeletons()
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(users).values(
                        id=user.id, username=user.username, username_key=username_key(username),
                        password_hash=password_hash, created_at=user.created_at,
                    )
                )
                await conn.execute(insert(skeletons).values(skeleton=username_skeleton(username), user_id=user.id))
        except IntegrityError as exc:
            raise UsernameTaken("that username, or one that looks like it, is taken") from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return user

    async def _fill_skeletons(self) -> None:
        """Give the names kept before skeletons were (an older database) theirs; of two lookalikes
        kept then, the older keeps the skeleton.  Once per repository: a node fills them at its
        first registration."""
        if self._filled:
            return
        async with self._engine.begin() as conn:
            missing = (await conn.execute(
                select(users.c.id, users.c.username).outerjoin(skeletons, skeletons.c.user_id == users.c.id)
                .where(skeletons.c.user_id.is_(None)).order_by(users.c.created_at)
            )).all()
        for row in missing:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(insert(skeletons).values(skeleton=username_skeleton(row.username),
                                                                user_id=row.id))
            except IntegrityError:
                continue  # a lookalike registered before passgate compared them, or another node filled it
        self._filled = True

    async def _one(self, *where: object) -> User | None:
        try:
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(users).where(*where))).first()  # type: ignore[arg-type]
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return User(row.id, row.username, row.password_hash, row.created_at) if row else None

    async def get(self, user_id: str) -> User | None:
        return await self._one(users.c.id == user_id)

    async def find(self, username: str) -> User | None:
        if "\x00" in username:  # no name holds NUL, and PostgreSQL refuses it in text: not a database failure
            return None
        return await self._one(users.c.username_key == username_key(username))

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def delete(self, user_id: str) -> bool:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(skeletons).where(skeletons.c.user_id == user_id))
                result = await conn.execute(delete(users).where(users.c.id == user_id))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return bool(result.rowcount)
