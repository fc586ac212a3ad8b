"""A store in one SQLite file: the embedded default.

Several ``passgate serve`` processes on one machine that name the same file are one deployment:
writes are shared through the file (WAL mode) and change notices through an ``events`` table
that every process polls.

Notices are numbered without holes (``AUTOINCREMENT``: an id is taken only by a committed insert)
and kept for :data:`EVENT_RETENTION` seconds.  Each poll reads, in one snapshot, the notices after
the last one seen and the highest number ever given (``sqlite_sequence``); when some number in
between is missing, notices were swept before this process read them (it was stalled: SIGSTOP,
a suspended VM) and the feed yields ``None`` (resynchronise) instead of going on as if nothing
was missed.  A poll that finds no gap is the feed's heartbeat.

The polls run on the event loop itself, on a connection of their own that never waits for a lock:
reading a few rows in WAL mode takes ~20 µs, where a hop to a worker thread and back costs ~200 µs
of CPU, twenty times a second on every process of the deployment, whatever its traffic.  A poll
that finds the database busy (rare in WAL mode) does not wait: it fails, and the feed resynchronises.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from passgate.errors import StoreUnavailable
from passgate.files import private_file

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    key TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (key, member)
);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, message BLOB NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires);
CREATE INDEX IF NOT EXISTS members_expires ON members (expires);
CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
"""

#: How often a process looks for other processes' change notices.
POLL_INTERVAL = 0.05
#: How long notices are kept for slower pollers.
EVENT_RETENTION = 60.0


class SqliteStore:
    """One connection used from worker threads under a lock."""

    shared = True

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._poll_conn: sqlite3.Connection | None = None
        self._writes = 0

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            private_file(self._path)
            conn = sqlite3.connect(self._path, timeout=5.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except sqlite3.Error as exc:
            raise StoreUnavailable("the SQLite store failed") from exc

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    async def get(self, key: str) -> bytes | None:
        rows = await self._run(self._read, "SELECT value FROM kv WHERE key=? AND expires>?", (key, self._clock()))
        return bytes(rows[0][0]) if rows else None

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = await self._run(
            self._read, f"SELECT key, value FROM kv WHERE key IN ({marks}) AND expires>?",  # noqa: S608
            (*keys, self._clock()),
        )
        found = {key: bytes(value) for key, value in rows}
        return [found.get(key) for key in keys]

    def _set(self, key: str, value: bytes, ttl: float) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO kv VALUES (?,?,?)", (key, value, self._clock() + ttl))
            self._maybe_sweep(conn)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._run(self._set, key, value, ttl)

    def _replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE kv SET value=?, expires=? WHERE key=? AND value=? AND expires>?",
                (value, self._clock() + ttl, key, expected, self._clock()),
            )
            return cur.rowcount == 1

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        return await self._run(self._replace, key, expected, value, ttl)

    def _set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        now = self._clock()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO kv VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value, "
                "expires=excluded.expires WHERE kv.expires<=?",
                (key, value, now + ttl, now),
            )
            self._maybe_sweep(conn)
            return cur.rowcount == 1

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return await self._run(self._set_if_absent, key, value, ttl)

    def _delete(self, keys: Sequence[str]) -> int:
        now = self._clock()
        found = 0
        with self._tx() as conn:
            for key in keys:
                found += conn.execute("DELETE FROM kv WHERE key=? AND expires>?", (key, now)).rowcount
                gone = conn.execute("DELETE FROM members WHERE key=? AND expires>?", (key, now)).rowcount
                found += 1 if gone else 0
                conn.execute("DELETE FROM kv WHERE key=?", (key,))
                conn.execute("DELETE FROM members WHERE key=?", (key,))
                conn.execute("DELETE FROM counters WHERE key=?", (key,))
        return found

    async def delete(self, *keys: str) -> int:
        return await self._run(self._delete, keys)

    def _incr(self, key: str, window: float) -> tuple[int, float]:
        now = self._clock()
        with self._tx() as conn:
            row = conn.execute("SELECT count, expires FROM counters WHERE key=?", (key,)).fetchone()
            count, expires = (row[0], row[1]) if row and row[1] > now else (0, now + window)
            conn.execute("INSERT OR REPLACE INTO counters VALUES (?,?,?)", (key, count + 1, expires))
        return count + 1, expires - now

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        return await self._run(self._incr, key, window)

    async def peek_count(self, key: str) -> tuple[int, float]:
        now = self._clock()
        rows = await self._run(self._read, "SELECT count, expires FROM counters WHERE key=? AND expires>?", (key, now))
        return (int(rows[0][0]), float(rows[0][1]) - now) if rows else (0, 0.0)

    def _add_member(self, key: str, member: str, ttl: float) -> None:
        expires = self._clock() + ttl
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO members VALUES (?,?,?) ON CONFLICT(key, member) "
                "DO UPDATE SET expires=max(expires, excluded.expires)",
                (key, member, expires),
            )
            conn.execute("UPDATE members SET expires=max(expires, ?) WHERE key=?", (expires, key))

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        await self._run(self._add_member, key, member, ttl)

    async def members(self, key: str) -> list[str]:
        rows = await self._run(
            self._read, "SELECT member FROM members WHERE key=? AND expires>? ORDER BY member", (key, self._clock())
        )
        return [row[0] for row in rows]

    def _remove_members(self, key: str, members: Sequence[str]) -> None:
        with self._tx() as conn:
            conn.executemany("DELETE FROM members WHERE key=? AND member=?", [(key, m) for m in members])

    async def remove_members(self, key: str, *members: str) -> None:
        await self._run(self._remove_members, key, members)

    def _publish(self, message: bytes) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO events (message, at) VALUES (?,?)", (message, self._clock()))

    async def publish(self, message: bytes) -> None:
        await self._run(self._publish, message)

    async def listen(self) -> AsyncIterator[bytes | None]:
        last: int | None = None
        while True:
            try:
                if self._poll_conn is None:
                    await self._run(self._open_poll_connection)  # may wait for the file: not on the loop
                if last is None:
                    last = self._events_after(None)[1]
                    yield None  # a fresh start: whatever the caller cached before is suspect
                rows, newest = self._events_after(last)
            except (sqlite3.Error, StoreUnavailable):
                last = None
                await asyncio.sleep(POLL_INTERVAL * 4)
                continue
            if len(rows) != newest - last:  # some were swept before we read them
                last = None
                continue
            for event_id, message in rows:
                last = int(event_id)
                yield bytes(message)
            yield b""  # a heartbeat: the feed is alive and nothing was missed
            await asyncio.sleep(POLL_INTERVAL)

    def _events_after(self, last: int | None) -> tuple[list[Any], int]:
        """The notices after ``last`` (none when None) and the highest number ever given, in one
        snapshot, read on the calling thread by the poll connection (sqlite3.Error when busy)."""
        conn = self._poll_connection()
        conn.execute("BEGIN")
        try:
            rows = [] if last is None else conn.execute(
                "SELECT id, message FROM events WHERE id>? ORDER BY id", (last,)
            ).fetchall()
            seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
        except BaseException:
            conn.rollback()
            raise
        conn.execute("COMMIT")
        return rows, int(seq[0]) if seq else 0

    def _poll_connection(self) -> sqlite3.Connection:
        if self._poll_conn is None:
            raise sqlite3.OperationalError("the feed's connection is closed")
        return self._poll_conn

    def _open_poll_connection(self) -> None:
        with self._lock:
            self._connect()  # the file, its WAL mode and its tables first
        conn = sqlite3.connect(self._path, timeout=0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        self._poll_conn = conn

    def _maybe_sweep(self, conn: sqlite3.Connection) -> None:
        self._writes += 1
        if self._writes % 256:
            return
        now = self._clock()
        conn.execute("DELETE FROM kv WHERE expires<=?", (now,))
        conn.execute("DELETE FROM members WHERE expires<=?", (now,))
        conn.execute("DELETE FROM counters WHERE expires<=?", (now,))
        conn.execute("DELETE FROM events WHERE at<=?", (now - EVENT_RETENTION,))

    async def ping(self) -> None:
        await self._run(self._read, "SELECT 1", ())

    async def aclose(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if self._poll_conn is not None:
            self._poll_conn.close()
            self._poll_conn = None
