"""Each store URL the settings accept opens the store it names (no connection is made yet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from passgate import load_settings
from passgate.root import open_store
from passgate.stores import MemoryStore
from passgate.stores.redis import RedisStore
from passgate.stores.redis_cluster import RedisClusterStore
from passgate.stores.sqlite import SqliteStore


@pytest.mark.parametrize(("url", "kind"), [
    ("memory://", MemoryStore),
    ("redis://127.0.0.1:6390/0", RedisStore),
    ("rediss://127.0.0.1:6390/0", RedisStore),
    ("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", RedisClusterStore),
    ("rediss+cluster://127.0.0.1:7000,127.0.0.1:7001", RedisClusterStore),
])
async def test_every_accepted_url_opens_its_store(url: str, kind: type, tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path, store=url).store == url
    store = open_store(url)
    try:
        assert isinstance(store, kind)
    finally:
        await store.aclose()


async def test_a_sqlite_url_opens_the_sqlite_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        assert isinstance(store, SqliteStore)
    finally:
        await store.aclose()
