"""Failed-login limits per account and per client address, counted in the store (so across nodes)."""

from __future__ import annotations

import hashlib
import math

from passgate.errors import RateLimited
from passgate.stores.base import Store


def _account(key: str) -> str:
    return "pg:rl:a:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _address(ip: str) -> str:
    return "pg:rl:ip:" + ip


class LoginLimiter:
    """Once either count reaches ``limit`` in ``window`` seconds, every attempt answers 429.

    An attempt counts as failed from the moment it is let through until :meth:`succeeded` takes
    it back: were failures counted only once their hash had run, every guess sent at once would
    pass the check together.
    """

    def __init__(self, store: Store, *, limit: int, window: float) -> None:
        self._store, self._limit, self._window = store, limit, window

    async def attempt(self, account: str, ip: str) -> None:
        """Let one attempt through and count it, or raise RateLimited (counting nothing)."""
        keys = (_account(account), _address(ip))
        for key in keys:  # a read first: a flood that is already over the limit writes nothing
            count, left = await self._store.peek_count(key)
            if count >= self._limit:
                raise RateLimited(math.ceil(left))
        counted: list[str] = []
        for key in keys:
            count, left = await self._store.incr(key, self._window)
            counted.append(key)
            if count > self._limit:  # others got there between the read and the count
                for done in counted:
                    await self._store.uncount(done)
                raise RateLimited(math.ceil(left))

    async def succeeded(self, account: str, ip: str) -> None:
        """The attempt was not a failure after all."""
        for key in (_account(account), _address(ip)):
            await self._store.uncount(key)
