"""The store behind Redis Sentinel: the store contract, and a failover of the master to its replica."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from passgate.errors import ConfigError, StoreUnavailable
from passgate.root import open_store
from passgate.stores import Store
from passgate.stores.redis_sentinel import RedisSentinelStore
from tests.servers import RedisSentinels
from tests.stores.contract import StoreContract
from tests.stores.test_redis import collect, late_reply, next_item, real_sleep
from tests.stores.test_redis_cluster import eventually

KEY = "pg:{u1}:l:login"


class TestRedisSentinelStore(StoreContract):
    @pytest.fixture
    async def store(self, redis_sentinels: RedisSentinels) -> AsyncIterator[Store]:
        store = open_store(redis_sentinels.url)
        assert isinstance(store, RedisSentinelStore)

        async def ready() -> bool:  # fresh sentinels on a busy machine may miss the first reply timeout
            await store.set("pg:{ready}:x", b"1", 1)
            return True

        await eventually(ready, within=10)
        yield store
        await store.aclose()

    @pytest.fixture
    def advance(self) -> Callable[[float], Awaitable[None]]:
        return real_sleep


async def test_a_failover_keeps_every_acknowledged_write_and_the_feed(redis_sentinels: RedisSentinels) -> None:
    store = open_store(redis_sentinels.url)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    feed = asyncio.create_task(collect(store, queue))
    try:
        assert await next_item(queue) is None
        await store.set(KEY, b"before", 60)  # answered once the replica has it (WAIT)
        await store.add_member("pg:{u1}:ix", "login", 60)
        redis_sentinels.fail_over()

        async def served() -> bool:
            return await store.get(KEY) == b"before"

        took = await eventually(served, within=20)
        print(f"the promoted replica served the store {took:.1f} s after the failover")
        assert await store.members("pg:{u1}:ix") == ["login"]

        async def written() -> bool:  # the new master takes writes (503s while the failover settles)
            await store.set(KEY, b"after", 60)
            return await store.get(KEY) == b"after"

        await eventually(written, within=10)

        async def delivered() -> bool:
            await store.publish(b"after-failover")
            while True:
                item = await next_item(queue, timeout=1)
                if item == b"after-failover":
                    return True

        await eventually(delivered, within=15)
    finally:
        feed.cancel()
        await store.aclose()


@pytest.mark.parametrize("url", [
    "redis+sentinel://127.0.0.1:26379",  # no service
    "redis+sentinel:///passgate",  # no sentinel
    "redis+sentinel://127.0.0.1:26379/passgate/x",  # not a db number
    "redis+sentinel://127.0.0.1:26379/passgate?ssl=1",
    "redis+sentinel://127.0.0.1:port/passgate",
])
def test_a_bad_sentinel_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        RedisSentinelStore.from_url(url)


async def test_a_write_the_replica_does_not_acknowledge_answers_unavailable(redis_sentinels: RedisSentinels) -> None:
    """As on one Redis (``WAIT``): the master has the write, the caller is told it is not acknowledged."""
    store = open_store(redis_sentinels.url)
    try:
        await store.set(KEY, b"v1", 60)
        assert redis_sentinels.replica.process is not None
        redis_sentinels.replica.process.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(StoreUnavailable):
                await store.set_if_absent("pg:{u1}:once", b"mine", 60)
            assert redis_sentinels.master.call("GET", "pg:{u1}:once") == "mine"
        finally:
            redis_sentinels.replica.process.send_signal(signal.SIGCONT)
    finally:
        await store.aclose()


async def test_a_set_if_absent_whose_reply_is_late_is_not_called_taken(redis_sentinels: RedisSentinels) -> None:
    """A fresh replica can be slow to acknowledge: the master has the write while its ``WAIT`` holds the
    reply past the reply timeout.  Sent again, the ``SET NX`` would find its own key and say "taken"."""
    store = open_store(redis_sentinels.url + "?wait_timeout=1000")
    try:
        await store.set(KEY, b"v1", 60)  # (and the store has a connection to send on)
        replica = redis_sentinels.replica.process
        answer = await late_reply(replica, lambda: store.set_if_absent("pg:{u1}:once", b"mine", 60))
        assert isinstance(answer, StoreUnavailable), f"a late reply was answered {answer!r}"
        assert redis_sentinels.master.call("GET", "pg:{u1}:once") == "mine"
    finally:
        await store.aclose()
