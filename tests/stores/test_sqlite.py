from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from passgate.stores import SqliteStore, Store
from tests.stores.contract import StoreContract


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
