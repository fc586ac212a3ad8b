"""An application's own SQLAlchemy user model, with no hand-written repository.

Mix :class:`UserMixin` into a declarative model of the application's (its own table, its own
columns beside passgate's) and hand :class:`ModelUserRepository` to passgate::

    class Member(UserMixin, Base):
        __tablename__ = "members"
        display_name: Mapped[str] = mapped_column(default="")

    auth = Passgate.from_env(users=ModelUserRepository(engine, Member))

The repository keeps the rules of :class:`~passgate.identity.users.UserRepository`: opaque ids,
names unique by :func:`username_key` and by :func:`username_skeleton` (no two names that look
alike), database failures as StoreUnavailable.  Extra fields given at registration
(``install(app, registration=...)``) become the model's own columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from passgate.errors import StoreUnavailable, UsernameTaken, ValidationFailed
from passgate.identity.names import username_key, username_skeleton
from passgate.identity.users import User
from passgate.ids import new_id


class UserMixin:
    """The columns passgate needs in an application's user model."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    #: What uniqueness and lookup compare (:func:`username_key`).
    username_key: Mapped[str] = mapped_column(String(256), unique=True)
    #: No two names that look alike (:func:`username_skeleton`).
    username_skeleton: Mapped[str] = mapped_column(String(512), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float]

    def as_user(self) -> User:
        return User(self.id, self.username, self.password_hash, self.created_at)


M = TypeVar("M", bound=UserMixin)


class ModelUserRepository(Generic[M]):
    """passgate's user repository over an application's model that mixes in :class:`UserMixin`."""

    def __init__(self, engine: AsyncEngine, model: type[M], *, clock: Callable[[], float] = time.time) -> None:
        self.model = model
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    async def create(self, username: str, password_hash: str, **fields: Any) -> User:
        """A new row; ``fields`` are the model's own columns (ValidationFailed for one it lacks)."""
        unknown = [name for name in fields if name.startswith("_") or not hasattr(self.model, name)]
        if unknown:
            raise ValidationFailed(f"no such field: {', '.join(sorted(unknown))}")
        make: Callable[..., M] = self.model  # a declarative model takes its columns as keywords
        row = make(
            id=new_id(), username=username, username_key=username_key(username),
            username_skeleton=username_skeleton(username), password_hash=password_hash,
            created_at=self._clock(), **fields,
        )
        try:
            async with self.sessions.begin() as session:
                session.add(row)
        except IntegrityError as exc:
            raise UsernameTaken("that username, or one that looks like it, is taken") from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return row.as_user()

    async def row(self, user_id: str) -> M | None:
        """The application's own row of a user (its own columns too)."""
        try:
            async with self.sessions() as session:
                return await session.get(self.model, user_id)
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def get(self, user_id: str) -> User | None:
        row = await self.row(user_id)
        return row.as_user() if row else None

    async def find(self, username: str) -> User | None:
        if "\x00" in username:  # no name holds NUL, and PostgreSQL refuses it in text
            return None
        try:
            async with self.sessions() as session:
                row = await session.scalar(select(self.model).where(self.model.username_key == username_key(username)))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return row.as_user() if row else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        try:
            async with self.sessions.begin() as session:
                await session.execute(
                    update(self.model).where(self.model.id == user_id).values(password_hash=password_hash)
                )
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def delete(self, user_id: str) -> bool:
        try:
            async with self.sessions.begin() as session:
                gone = await session.execute(delete(self.model).where(self.model.id == user_id))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return bool(gone.rowcount)  # type: ignore[attr-defined]
