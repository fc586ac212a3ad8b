"""Failed-login limits per account (or per device cookie) and per client address, counted in the
store (so across nodes)."""

from __future__ import annotations

import hashlib
import math

from passgate.errors import RateLimited
from passgate.stores.base import Store


def _account(key: str) -> str:
    return "pg:rl:a:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _address(ip: str) -> str:
    return "pg:rl:ip:" + ip


def _device(device: str) -> str:
    return "pg:rl:d:" + device


def _keys(account: str, ip: str, device: str | None) -> tuple[str, str]:
    return (_account(account) if device is None else _device(device)), _address(ip)


class LoginLimiter:
    """Once either count reaches ``limit`` in ``window`` seconds, every attempt answers 429.

    The counts are checked when a login comes in and again when its answer is decided: guesses
    sent at once all pass the first check, so a failure that takes a count past the limit, and a
    match found once the count has reached it, answer 429 too.  Guesses in flight together thus
    learn no more than guesses sent one by one, and logins that succeed count for nothing, however
    many run at once.

    An attempt from a ``device`` (a device cookie of the account, or the caller's own login when
    it re-enters its password) is held to that device's count instead of the account's: strangers'
    guesses fill the account's count, and must not lock out the clients the user logged in from.
    The address's count holds for every attempt.
    """

    def __init__(self, store: Store, *, limit: int, window: float) -> None:
        self._store, self._limit, self._window = store, limit, window

    async def check(self, account: str, ip: str, *, device: str | None = None) -> None:
        for key in _keys(account, ip, device):
            count, left = await self._store.peek_count(key)
            if count >= self._limit:
                raise RateLimited(math.ceil(left))

    async def failed(self, account: str, ip: str, *, device: str | None = None) -> None:
        """Count a failure; RateLimited if it took either count past the limit."""
        over: float | None = None
        for key in _keys(account, ip, device):
            count, left = await self._store.incr(key, self._window)
            if count > self._limit:
                over = max(over or 0.0, left)
        if over is not None:
            raise RateLimited(math.ceil(over))

    # A login that names no account (a passkey's, which finds the account by its credential) is
    # held to the address's count alone: strangers' password guesses at an account must not stop
    # its owner's passkey, and a passkey refused says nothing of whose it claimed to be.

    async def check_address(self, ip: str) -> None:
        """RateLimited while the address's count is at the limit."""
        count, left = await self._store.peek_count(_address(ip))
        if count >= self._limit:
            raise RateLimited(math.ceil(left))

    async def failed_address(self, ip: str) -> None:
        """Count a failure of the address alone; RateLimited if it took the count past the limit."""
        count, left = await self._store.incr(_address(ip), self._window)
        if count > self._limit:
            raise RateLimited(math.ceil(left))
