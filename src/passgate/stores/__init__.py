"""Stores: where logins, refresh tokens, counters and change notices live.

:class:`Store` is the interface; each backend is one module (the Redis ones need ``passgate[redis]``).
The composition root (:func:`passgate.root.open_store`) picks one by URL.
"""

from passgate.stores.base import Store
from passgate.stores.memory import MemoryStore
from passgate.stores.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore", "Store"]
