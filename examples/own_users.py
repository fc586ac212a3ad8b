"""Your own users: the application keeps them in its own SQLAlchemy model; passgate keeps the logins.

passgate asks a :class:`passgate.UserRepository` for users; this one stores them as ``Member`` rows
beside the application's own columns (here a display name).  Run it as ``uvicorn own_users:app``;
``APP_DATABASE_URL`` names the application's database (default: ``app.db`` in the working directory).

What a repository must keep: ``find`` compares names by :func:`passgate.username_key` (so ``Ada`` and
``ada`` are one user), ``create`` raises :class:`passgate.UsernameTaken` for a name that is taken,
ids are opaque strings nobody can guess, and a database failure is :class:`passgate.StoreUnavailable`
(a 503, never a 500).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import String, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from passgate import Caller, Passgate, StoreUnavailable, User, UsernameTaken, username_key


class Base(DeclarativeBase):
    pass


class Member(Base):
    """The application's user model; passgate needs only the first five columns."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    username_key: Mapped[str] = mapped_column(String(256), unique=True)
    password_hash: Mapped[str]
    created_at: Mapped[float]
    display_name: Mapped[str] = mapped_column(default="")

    def as_user(self) -> User:
        return User(self.id, self.username, self.password_hash, self.created_at)


class MemberRepository:
    """passgate's :class:`passgate.UserRepository` over the ``Member`` model."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(self, username: str, password_hash: str) -> User:
        member = Member(
            id=secrets.token_urlsafe(16), username=username, username_key=username_key(username),
            password_hash=password_hash, created_at=time.time(), display_name=username,
        )
        try:
            async with self.sessions.begin() as session:
                session.add(member)
        except IntegrityError as exc:
            raise UsernameTaken("that username is taken") from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return member.as_user()

    async def member(self, user_id: str) -> Member | None:
        try:
            async with self.sessions() as session:
                return await session.get(Member, user_id)
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def get(self, user_id: str) -> User | None:
        member = await self.member(user_id)
        return member.as_user() if member else None

    async def find(self, username: str) -> User | None:
        try:
            async with self.sessions() as session:
                member = await session.scalar(select(Member).where(Member.username_key == username_key(username)))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        return member.as_user() if member else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        try:
            async with self.sessions.begin() as session:
                await session.execute(update(Member).where(Member.id == user_id).values(password_hash=password_hash))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def delete(self, user_id: str) -> bool:
        try:
            async with self.sessions.begin() as session:
                gone = await session.execute(delete(Member).where(Member.id == user_id).returning(Member.id))
                return gone.first() is not None
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc


engine = create_async_engine(os.environ.get("APP_DATABASE_URL", "sqlite+aiosqlite:///app.db"))
members = MemberRepository(async_sessionmaker(engine, expire_on_commit=False))
auth = Passgate.from_env(users=members)  # logins, tokens and keys stay in passgate's store and data dir


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with auth.lifespan(app):
        yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
auth.install(app)


@app.get("/hello")
async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    return {"hello": user.username}


@app.get("/profile")
async def profile(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    member = await members.member(user.user_id)
    return {"username": user.username, "display_name": member.display_name if member else ""}
