"""How often mail may be asked for, per address and per account, counted in the store (so across
nodes), as the login limit counts failed logins."""

from __future__ import annotations

import hashlib
import math

from passgate.errors import RateLimited
from passgate.stores.base import Store


def _key(kind: str, value: str) -> str:
    return f"pg:rl:mail:{kind}:" + hashlib.sha256(value.encode()).hexdigest()[:32]


class MailLimiter:
    """Every request for a mail counts; past ``limit`` in ``window`` seconds, for the address or
    the account, it answers 429 (and no mail is queued)."""

    def __init__(self, store: Store, *, limit: int, window: float) -> None:
        self._store, self._limit, self._window = store, limit, window

    async def count(self, *, address: str, account: str) -> None:
        """Count one request; RateLimited when either count is past the limit."""
        over: float | None = None
        for key in (_key("address", address), _key("account", account)):
            count, left = await self._store.incr(key, self._window)
            if count > self._limit:
                over = max(over or 0.0, left)
        if over is not None:
            raise RateLimited(math.ceil(over), "Too many mail requests; retry later")
