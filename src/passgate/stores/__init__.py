"""Stores: where logins, refresh tokens, counters and change notices live.

:func:`open_store` is the one place a URL becomes a backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from passgate.errors import ConfigError
from passgate.stores.base import Store
from passgate.stores.memory import MemoryStore
from passgate.stores.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "Store", "open_store"]


def open_store(url: str, *, clock: Callable[[], float] = time.time) -> Store:
    """``memory://``, ``sqlite:///PATH``, ``redis://HOST:PORT/DB`` or ``redis+cluster://HOST:PORT,…``."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(clock=clock)
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise ConfigError(f"a SQLite store needs an absolute path: sqlite:///PATH, not {url!r}")
        return SqliteStore(path, clock=clock)
    if scheme in ("redis", "rediss"):
        from passgate.stores.redis import RedisStore

        return RedisStore.from_url(url)
    if scheme == "redis+cluster":
        from passgate.stores.redis_cluster import RedisClusterStore

        return RedisClusterStore.from_url(url)
    raise ConfigError(f"unknown store URL scheme {scheme!r}")
