"""The peer: fastapi-users with its SQLAlchemy adapter on SQLite, serving ``GET /users/me``.

It runs in its own virtualenv (``benchmarks/.peer-venv``, the latest fastapi-users release) and is set
up as fastapi-users' documentation sets it up.  One authentication backend per process, chosen by
``PEER_BACKEND``:

- ``jwt``: ``BearerTransport`` + ``JWTStrategy`` (HS256), login at ``POST /auth/jwt/login``;
- ``redis``: ``CookieTransport`` + ``RedisStrategy``, login at ``POST /auth/redis/login``.

``PEER_DATABASE_URL`` (``sqlite+aiosqlite:///PATH``) and ``PEER_REDIS_URL`` say where users and
Redis tokens live.  ``GET /healthz`` is a bare FastAPI route: this app's ceiling.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
    JWTStrategy,
    RedisStrategy,
)
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = os.environ.get("PEER_SECRET", "benchmark-only-secret-0123456789abcdef")
BACKEND = os.environ.get("PEER_BACKEND", "jwt")
LIFETIME = 3600


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


engine = create_async_engine(os.environ["PEER_DATABASE_URL"])
session_maker = async_sessionmaker(engine, expire_on_commit=False)
redis_client = redis.asyncio.from_url(os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0"),
                                      decode_responses=True)


async def get_async_session() -> AsyncIterator[AsyncSession]:
    async with session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)) -> AsyncIterator[SQLAlchemyUserDatabase]:
    yield SQLAlchemyUserDatabase(session, User)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)) -> AsyncIterator[UserManager]:
    yield UserManager(user_db)


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=LIFETIME)


def get_redis_strategy() -> RedisStrategy:
    return RedisStrategy(redis_client, lifetime_seconds=LIFETIME)


if BACKEND == "jwt":
    backend = AuthenticationBackend(name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"),
                                    get_strategy=get_jwt_strategy)
elif BACKEND == "redis":
    backend = AuthenticationBackend(name="redis", transport=CookieTransport(cookie_max_age=LIFETIME),
                                    get_strategy=get_redis_strategy)
else:
    raise SystemExit(f"PEER_BACKEND must be jwt or redis, not {BACKEND!r}")

fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await redis_client.aclose()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(backend), prefix=f"/auth/{BACKEND}")
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(fastapi_users.get_users_router(UserRead, schemas.BaseUserUpdate), prefix="/users")


@app.get("/healthz")
async def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")
