"""The store interface: bytes under string keys, each with a time-to-live.

Stores know nothing of logins or tokens; the credential layer serialises its records and picks
the keys.  A key's ``{...}`` part is a hash tag: keys sharing it live together (one Redis Cluster
slot), so every per-user operation touches a single slot.

Every method raises :class:`passgate.errors.StoreUnavailable` when the backend cannot answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """What a backend implements; ``tests/stores/contract.py`` is its specification."""

    #: True when writes are shared with other processes (a second node sees them).
    shared: bool

    async def get(self, key: str) -> bytes | None:
        """The value, or None when missing or expired."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values in the order of ``keys`` (all under one hash tag)."""

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Write ``value``, expiring after ``ttl`` seconds."""

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        """Write ``value`` only if the key still holds ``expected``; True when written.

        A deleted key is never brought back: this is how a record is updated without
        undoing a concurrent revocation.
        """

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        """Write ``value`` only if the key holds nothing live; True when written.

        One atomic step for every node of the deployment: of several callers racing for one
        key, exactly one gets True (a replay memory: "was this ever seen?").
        """

    async def delete(self, *keys: str) -> int:
        """Remove the keys (all under one hash tag); the number that existed."""

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        """Count one more event in a fixed window that starts at the first event.

        Returns the count so far and the seconds left in the window.
        """

    async def peek_count(self, key: str) -> tuple[int, float]:
        """The count and seconds left of ``key``'s window, without counting; (0, 0) if none."""

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        """Add ``member`` to the set at ``key`` and extend the set's life to at least ``ttl``."""

    async def members(self, key: str) -> list[str]:
        """The members of the set at ``key`` (empty when missing)."""

    async def remove_members(self, key: str, *members: str) -> None:
        """Remove members from the set at ``key``."""

    async def publish(self, message: bytes) -> None:
        """Send a change notice to every node listening on this store."""

    def listen(self) -> AsyncIterator[bytes | None]:
        """Change notices as they come, forever.

        ``None`` means notices may have been lost (resynchronise); ``b""`` is a heartbeat that a
        shared store sends at least every 0.25 s while the feed is live.  A heartbeat is a round
        trip on the feed itself, not a sign of life from the server: it says that every notice
        published before it was sent has been delivered (a Redis listener's own message published
        and received back; a SQLite poll that found no notice missing).
        """

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the backend answers."""

    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
