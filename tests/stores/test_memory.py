from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from passgate.stores import MemoryStore, Store
from tests.stores.contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self, clock: list[float]) -> AsyncIterator[Store]:
        store = MemoryStore(clock=lambda: clock[0])
        yield store
        await store.aclose()

    @pytest.fixture
    def advance(self, clock: list[float]):  # type: ignore[no-untyped-def]
        async def advance(seconds: float) -> None:
            clock[0] += seconds

        return advance
