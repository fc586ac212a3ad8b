"""Make many logins exist, fast: records built and encoded by passgate's own code, written in bulk.

A million logins through HTTP would take hours of argon2id.  Instead each record is a
:class:`passgate.credentials.records.Login` encoded with :func:`~passgate.credentials.records.encode`,
stored under :func:`~passgate.credentials.logins.login_key` and listed under
:func:`~passgate.credentials.logins.index_key`, exactly as the login repository writes them.  The
writes are batched (one SQLite transaction, or one Redis pipeline, per chunk) using the same
statements and commands as the store backend; afterwards a sample is read back through
:func:`passgate.root.open_store` and compared, so a change in a backend's layout fails the
lab loudly instead of measuring records that passgate would not find.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from benchmarks.client import USER_AGENT
from passgate.credentials.logins import index_key, login_key
from passgate.credentials.records import Login, RefreshEntry, decode, encode
from passgate.credentials.secrets import digest, new_secret
from passgate.ids import new_id
from passgate.root import open_store

#: Logins per seeded user (a phone, a laptop, an API client...).
LOGINS_PER_USER = 4
CHUNK = 20_000
#: Logins of each chunk kept to read back (a check, and the store-read timing).
LOOKUP_SAMPLE = 100
#: passgate's defaults: cookie logins idle out after 30 min, token logins after 14 days.
SESSION_IDLE, SESSION_ABSOLUTE = 30 * 60.0, 12 * 3600.0
REFRESH_IDLE, REFRESH_ABSOLUTE = 14 * 86400.0, 30 * 86400.0


class SeedFailed(RuntimeError):
    """The records written could not be read back through passgate's store."""


@dataclass(frozen=True)
class Seeded:
    user_id: str
    login: Login
    raw: bytes
    #: The cookie login's session secret (its record keeps only the digest): ``cookie`` is a working credential.
    secret: str
    #: Seconds the record lives (its key's TTL), and the user's index set's.
    ttl: float
    index_ttl: float

    @property
    def cookie(self) -> str:
        """The session cookie's value (``USER.LOGIN.SECRET``), for a cookie login."""
        return f"{self.user_id}.{self.login.id}.{self.secret}"


def typical_login(user_id: str, username: str, kind: str, now: float, serial: int) -> tuple[Login, str]:
    """A login as ``POST /api/session`` or ``POST /api/token`` creates it, and its secret."""
    cookie = kind == "cookie"
    secret = new_secret()
    return Login(
        id=new_id(), user_id=user_id, username=username, kind="cookie" if cookie else "token",
        created_at=now, last_seen_at=now,
        expires_at=now + (SESSION_ABSOLUTE if cookie else REFRESH_ABSOLUTE),
        idle_ttl=SESSION_IDLE if cookie else REFRESH_IDLE, user_agent=USER_AGENT,
        ip=f"198.51.100.{serial % 250 + 1}",
        secret_digest=digest(secret) if cookie else b"",
        refresh=() if cookie else (RefreshEntry(digest(secret)),),
    ), secret


def generate(count: int) -> Iterator[list[Seeded]]:
    """``count`` logins in chunks, ``LOGINS_PER_USER`` per user, half of them cookie and half token."""
    now = round(time.time(), 3)  # whole milliseconds, as records store them, so a decode compares equal
    chunk: list[Seeded] = []
    for start in range(0, count, LOGINS_PER_USER):
        user_id = new_id()
        logins = [typical_login(user_id, f"seed-{user_id[:10]}", "cookie" if n % 2 == 0 else "token", now, start)
                  for n in range(min(LOGINS_PER_USER, count - start))]
        index_ttl = max(login.ttl(now) for login, _ in logins)
        chunk += [Seeded(user_id, login, encode(login), secret, login.ttl(now), index_ttl) for login, secret in logins]
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _verify(store_url: str, sample: list[Seeded]) -> None:
    store = open_store(store_url)
    try:
        for seeded in sample:
            raw = await store.get(login_key(seeded.user_id, seeded.login.id))
            if raw != seeded.raw or decode(seeded.login.id, raw) != seeded.login:
                raise SeedFailed(f"{store_url}: a seeded login does not read back through passgate's store")
            if seeded.login.id not in await store.members(index_key(seeded.user_id)):
                raise SeedFailed(f"{store_url}: a seeded login is missing from its user's index")
    finally:
        await store.aclose()


class SqliteTarget:
    """The SQLite store file at ``path``: rows as ``SqliteStore.set`` and ``add_member`` write them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        asyncio.run(_ping(self.url))  # the store creates its schema
        self.seconds = 0.0

    def write(self, chunk: list[Seeded]) -> None:
        started = time.perf_counter()
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            now = time.time()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO kv VALUES (?,?,?)",
                             [(login_key(s.user_id, s.login.id), s.raw, now + s.ttl) for s in chunk])
            conn.executemany(
                "INSERT INTO members VALUES (?,?,?) ON CONFLICT(key, member) "
                "DO UPDATE SET expires=max(expires, excluded.expires)",
                [(index_key(s.user_id), s.login.id, now + s.index_ttl) for s in chunk],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def size(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())


class RedisTarget:
    """A Redis: ``SET key value PX ttl``, ``SADD`` and ``PEXPIRE`` as ``RedisStore`` issues them, pipelined."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=30.0)
        self.seconds = 0.0

    def write(self, chunk: list[Seeded]) -> None:
        started = time.perf_counter()
        pipe = self.client.pipeline(transaction=False)
        for s in chunk:
            pipe.set(login_key(s.user_id, s.login.id), s.raw, px=max(1, round(s.ttl * 1000)))
            pipe.sadd(index_key(s.user_id), s.login.id)
            pipe.pexpire(index_key(s.user_id), max(1, round(s.index_ttl * 1000)))
        pipe.execute()
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        pass

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def close(self) -> None:
        self.client.close()


def seed(targets: list[SqliteTarget | RedisTarget], count: int) -> list[Seeded]:
    """Write ``count`` more logins into every target, then read a sample back through passgate's
    store; a sample of the logins written (its cookie logins are working credentials)."""
    sample: list[Seeded] = []
    for chunk in generate(count):
        for target in targets:
            target.write(chunk)
        sample += random.sample(chunk, min(LOOKUP_SAMPLE, len(chunk)))
    for target in targets:
        target.finish()
        asyncio.run(_verify(target.url, random.sample(sample, min(20, len(sample)))))
    return sample


async def _reads(url: str, keys: list[str]) -> float:
    store = open_store(url)
    try:
        for key in keys[:50]:  # connect, warm up
            await store.get(key)
        started = time.perf_counter()
        for key in keys:
            if await store.get(key) is None:
                raise SeedFailed(f"{url}: a seeded login is missing")
        return (time.perf_counter() - started) / len(keys)
    finally:
        await store.aclose()


def read_seconds(url: str, logins: list[Seeded], reads: int = 2_000) -> float:
    """The mean time of one ``store.get`` of a random existing login, one after another: what a
    request pays on a cache miss, whatever the number of logins."""
    keys = [login_key(s.user_id, s.login.id) for s in random.choices(logins, k=reads)]
    return asyncio.run(_reads(url, keys))


async def _ping(url: str) -> None:
    store = open_store(url)
    try:
        await store.ping()
    finally:
        await store.aclose()
