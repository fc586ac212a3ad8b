"""Your own users: the application keeps them in its own SQLAlchemy model; passgate keeps the logins.

``Member`` is the application's model: passgate's columns come from :class:`passgate.UserMixin`,
beside the application's own (here a display name), and :class:`passgate.ModelUserRepository` is
the repository passgate asks for users, so none is written by hand.  Registration takes the
application's field too (``MemberRegistration``).  Run it as ``uvicorn own_users:app``;
``APP_DATABASE_URL`` names the application's database (default: ``app.db`` in the working directory).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import Field
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from passgate import Caller, ModelUserRepository, Passgate, Registration, UserMixin


class Base(DeclarativeBase):
    pass


class Member(UserMixin, Base):
    """The application's user model: passgate's columns, and its own."""

    __tablename__ = "members"

    display_name: Mapped[str] = mapped_column(default="")


class MemberRegistration(Registration):
    """``POST /api/users`` with the application's own field."""

    display_name: str = Field("", max_length=64)


engine = create_async_engine(os.environ.get("APP_DATABASE_URL", "sqlite+aiosqlite:///app.db"))
members = ModelUserRepository(engine, Member)
auth = Passgate.from_env(users=members)  # logins, tokens and keys stay in passgate's store and data dir


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with auth.lifespan(app):
        yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
auth.install(app, registration=MemberRegistration)


@app.get("/hello")
async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    return {"hello": user.username}


@app.get("/profile")
async def profile(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
    member = await members.row(user.user_id)
    return {"username": user.username, "display_name": member.display_name if member else ""}
