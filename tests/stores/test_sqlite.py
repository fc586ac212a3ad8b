from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from passgate.stores import SqliteStore, Store
from passgate.stores.sqlite import EVENT_RETENTION
from tests.stores.contract import StoreContract

SWEEP_EVERY = 256  # the writes between two sweeps (sqlite.py)


class TestSqliteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path, clock: list[float]) -> AsyncIterator[Store]:
        store = SqliteStore(tmp_path / "state.db", clock=lambda: clock[0])
        yield store
        await store.aclose()

    @pytest.fixture
    def advance(self, clock: list[float]):  # type: ignore[no-untyped-def]
        async def advance(seconds: float) -> None:
            clock[0] += seconds

        return advance


async def test_two_handles_share_one_file(tmp_path: Path) -> None:
    one, two = SqliteStore(tmp_path / "s.db"), SqliteStore(tmp_path / "s.db")
    await one.set("pg:{u}:k", b"v", 60)
    assert await two.get("pg:{u}:k") == b"v"
    await one.aclose()
    await two.aclose()


async def test_a_listener_stalled_past_the_sweep_resynchronises(tmp_path: Path) -> None:
    # A process that stops reading the feed (SIGSTOP, a long GC pause) while another sweeps the
    # notices away must not resume as if nothing was missed: the feed says None (resynchronise).
    clock = [1_000_000.0]
    writer, reader = (SqliteStore(tmp_path / "s.db", clock=lambda: clock[0]) for _ in range(2))
    feed = cast(AsyncGenerator[bytes | None, None], reader.listen())
    try:
        assert await anext(feed) is None
        assert await anext(feed) == b""
        await writer.publish(b"r:lost")  # the reader is stalled: it does not poll
        clock[0] += EVENT_RETENTION + 1
        for i in range(SWEEP_EVERY):  # enough writes for the writer to sweep
            await writer.set(f"pg:{{u}}:k{i}", b"v", 600)
        assert await anext(feed) is None
        assert await anext(feed) == b""  # and then the feed goes on
        await writer.publish(b"r:seen")
        assert await anext(feed) == b"r:seen"
    finally:
        await feed.aclose()
        await writer.aclose()
        await reader.aclose()
