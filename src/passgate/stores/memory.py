"""A store in this process's memory: for tests, development and single-process deployments."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence


class MemoryStore:
    """Dicts with expiry times; nothing is shared with other processes."""

    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._values: dict[str, tuple[bytes, float]] = {}
        self._sets: dict[str, tuple[set[str], float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}
        self._listeners: set[asyncio.Queue[bytes | None]] = set()
        self._writes = 0

    def _live(self, table: dict[str, tuple[object, float]], key: str) -> bool:
        entry = table.get(key)
        if entry is None:
            return False
        if entry[1] <= self._clock():
            del table[key]
            return False
        return True

    def _sweep(self) -> None:
        # Amortised cleanup so that expired keys do not pile up in a long-running process.
        self._writes += 1
        if self._writes % 1024:
            return
        now = self._clock()
        for table in (self._values, self._sets, self._counters):
            for key in [k for k, (_, exp) in table.items() if exp <= now]:
                del table[key]

    async def get(self, key: str) -> bytes | None:
        return self._values[key][0] if self._live(self._values, key) else None  # type: ignore[arg-type]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._sweep()
        self._values[key] = (bytes(value), self._clock() + ttl)

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        if await self.get(key) != expected:
            return False
        await self.set(key, value, ttl)
        return True

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        if self._live(self._values, key):  # type: ignore[arg-type]
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, *keys: str) -> int:
        found = 0
        for key in keys:
            found += self._live(self._values, key) or self._live(self._sets, key)  # type: ignore[arg-type]
            self._values.pop(key, None)
            self._sets.pop(key, None)
            self._counters.pop(key, None)
        return found

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        self._sweep()
        now = self._clock()
        count, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + window
        self._counters[key] = (count + 1, expires)
        return count + 1, expires - now

    async def peek_count(self, key: str) -> tuple[int, float]:
        now = self._clock()
        count, expires = self._counters.get(key, (0, 0.0))
        return (count, expires - now) if expires > now else (0, 0.0)

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        self._sweep()
        members, expires = self._sets[key] if self._live(self._sets, key) else (set(), 0.0)  # type: ignore[arg-type]
        members.add(member)
        self._sets[key] = (members, max(expires, self._clock() + ttl))

    async def members(self, key: str) -> list[str]:
        return sorted(self._sets[key][0]) if self._live(self._sets, key) else []  # type: ignore[arg-type]

    async def remove_members(self, key: str, *members: str) -> None:
        if self._live(self._sets, key):  # type: ignore[arg-type]
            self._sets[key][0].difference_update(members)

    async def publish(self, message: bytes) -> None:
        for queue in self._listeners:
            queue.put_nowait(message)

    async def listen(self) -> AsyncIterator[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._listeners.clear()
