from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from passgate.errors import ConfigError, StoreUnavailable
from passgate.root import open_store
from passgate.stores import Store
from passgate.stores.redis import RedisStore
from tests.servers import RedisServer, replication_streams, wait_until
from tests.stores.contract import StoreContract

KEY = "pg:{u1}:secret-key-name"

T = TypeVar("T")

#: Writes that answer differently when run a second time: each with the key it writes and what that
#: key holds once it ran once (``replace`` finds ``b"old"`` there first).
LATE_WRITES: dict[str, tuple[Callable[[Store], Awaitable[Any]], str, str]] = {
    "set_if_absent": (lambda store: store.set_if_absent(KEY, b"mine", 60), KEY, "mine"),
    "replace": (lambda store: store.replace("pg:{u1}:cas", b"old", b"new", 60), "pg:{u1}:cas", "new"),
    "incr": (lambda store: store.incr("pg:{u1}:n", 60), "pg:{u1}:n", "1"),
}


async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class TestRedisStore(StoreContract):
    @pytest.fixture
    async def store(self, redis_server: RedisServer) -> AsyncIterator[Store]:
        redis_server.call("FLUSHALL")
        store = RedisStore.from_url(redis_server.url)
        yield store
        await store.aclose()

    @pytest.fixture
    def advance(self) -> Callable[[float], Awaitable[None]]:
        return real_sleep  # the server keeps its own time


def every_method(store: Store) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "get": lambda: store.get(KEY),
        "get_many": lambda: store.get_many([KEY, "pg:{u1}:b"]),
        "set": lambda: store.set(KEY, b"v", 60),
        "replace": lambda: store.replace(KEY, b"v", b"w", 60),
        "set_if_absent": lambda: store.set_if_absent(KEY, b"v", 60),
        "delete": lambda: store.delete(KEY),
        "incr": lambda: store.incr("pg:{u1}:n", 60),
        "peek_count": lambda: store.peek_count("pg:{u1}:n"),
        "add_member": lambda: store.add_member("pg:{u1}:ix", "m", 60),
        "members": lambda: store.members("pg:{u1}:ix"),
        "remove_members": lambda: store.remove_members("pg:{u1}:ix", "m"),
        "publish": lambda: store.publish(b"notice"),
        "ping": lambda: store.ping(),
    }


async def assert_unavailable_quickly(name: str, call: Callable[[], Awaitable[Any]], limit: float = 5.0) -> None:
    """StoreUnavailable within the contract's bound for a 503 (5 s); how fast it is belongs to the benchmarks."""
    with pytest.raises(StoreUnavailable) as info:
        async with asyncio.timeout(limit):
            await call()
    assert "secret-key-name" not in str(info.value), name
    assert info.value.code == "store_unavailable"


async def late_reply(
    process: subprocess.Popen[bytes] | None, call: Callable[[], Awaitable[T]], *, late: float = 0.75
) -> T | StoreUnavailable:
    """What ``call`` answers when ``process`` (a redis-server) freezes as the command is sent and wakes
    ``late`` seconds later, once the store's reply timeout (0.5 s) has passed.  The command is still
    in the server's socket then, and runs; so would a copy the store sent again after the timeout."""
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    try:
        answer = asyncio.ensure_future(call())
        await asyncio.sleep(late)
    finally:
        process.send_signal(signal.SIGCONT)
    try:
        return await answer
    except StoreUnavailable as exc:
        return exc


async def assert_late_write_runs_once(
    store: Store, frozen: subprocess.Popen[bytes] | None, read: Callable[[str], Any], write: str,
) -> None:
    """One of :data:`LATE_WRITES` sent while ``frozen`` (the server holding its key) sleeps past the
    reply timeout: the store answers StoreUnavailable, and ``read`` finds the key written once."""
    call, key, once = LATE_WRITES[write]
    await store.set("pg:{u1}:cas", b"old", 60)  # (and the store has a connection to send on)
    answer = await late_reply(frozen, lambda: call(store))
    assert isinstance(answer, StoreUnavailable), f"a late reply was answered {answer!r}"
    assert read(key) == once


async def next_item(queue: asyncio.Queue[bytes | None], timeout: float = 5.0) -> bytes | None:
    return await asyncio.wait_for(queue.get(), timeout)


async def collect(store: Store, queue: asyncio.Queue[bytes | None]) -> None:
    async for item in store.listen():
        if item != b"":  # heartbeats say the feed is alive; these tests look at notices and resyncs
            queue.put_nowait(item)


async def test_open_store_builds_a_redis_store(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url + "?wait=0")
    assert isinstance(store, RedisStore) and store.shared
    await store.ping()
    await store.aclose()


async def test_outage_fails_fast_and_store_recovers(make_redis_server: Callable[..., RedisServer]) -> None:
    server = make_redis_server(appendonly=True)
    store = RedisStore.from_url(server.url)
    try:
        await store.set(KEY, b"kept", 60)
        await store.add_member("pg:{u1}:ix", "kept", 60)
        server.stop()
        for name, call in every_method(store).items():
            await assert_unavailable_quickly(name, call)
        server.start()
        assert await store.get(KEY) == b"kept"
        assert await store.members("pg:{u1}:ix") == ["kept"]
        await store.set("pg:{u1}:new", b"new", 60)
        assert await store.get("pg:{u1}:new") == b"new"
    finally:
        await store.aclose()


async def test_killed_server_keeps_answered_writes(make_redis_server: Callable[..., RedisServer]) -> None:
    server = make_redis_server(appendonly=True)
    store = RedisStore.from_url(server.url)
    try:
        await store.set(KEY, b"kept", 60)
        server.kill()
        await assert_unavailable_quickly("get", lambda: store.get(KEY))
        server.start()
        assert await store.get(KEY) == b"kept"
    finally:
        await store.aclose()


async def test_listen_resynchronises_after_restart(make_redis_server: Callable[..., RedisServer]) -> None:
    server = make_redis_server(appendonly=True)
    store = RedisStore.from_url(server.url)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    task = asyncio.create_task(collect(store, queue))
    try:
        assert await next_item(queue) is None
        await store.publish(b"one")
        assert await next_item(queue) == b"one"
        server.stop()
        await asyncio.sleep(0.3)
        assert task.done() is False  # listen never raises
        assert queue.get_nowait() is None  # the drop is said at once, before Redis is back
        server.start()
        assert await next_item(queue) is None  # resubscribed: resynchronise
        await store.publish(b"two")
        assert await next_item(queue) == b"two"
    finally:
        await store.aclose()
        await asyncio.wait_for(task, 3)  # aclose ends the listener


async def test_idle_listener_stays_subscribed(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    task = asyncio.create_task(collect(store, queue))
    try:
        assert await next_item(queue) is None
        await asyncio.sleep(2.5)  # past several heartbeats
        await store.publish(b"late")
        assert await next_item(queue) == b"late"  # no resubscription (None) in between
    finally:
        await store.aclose()
        await asyncio.wait_for(task, 3)


async def test_frozen_server_times_out(make_redis_server: Callable[..., RedisServer]) -> None:
    server = make_redis_server()
    store = RedisStore.from_url(server.url)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    task = asyncio.create_task(collect(store, queue))
    assert server.process is not None
    try:
        assert await next_item(queue) is None
        await store.set(KEY, b"v", 60)
        server.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            await assert_unavailable_quickly("get", lambda: store.get(KEY))
            await assert_unavailable_quickly("set", lambda: store.set(KEY, b"w", 60))
            # Frozen until the listener says so, however soon the two calls fail: a silence
            # shorter than the listener's limit (2 s) is no reason to resubscribe.
            assert await next_item(queue) is None  # the silent subscription was noticed...
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert await next_item(queue) is None  # ...and renewed
        await store.publish(b"again")
        assert await next_item(queue) == b"again"
        assert await store.get(KEY) == b"v"
    finally:
        await store.aclose()
        await asyncio.wait_for(task, 3)


@pytest.mark.parametrize("write", LATE_WRITES)
async def test_a_write_whose_reply_is_late_runs_once(make_redis_server: Callable[..., RedisServer], write: str) -> None:
    # A reply timeout does not say the command was lost: a retry would run it twice, and answer for
    # the second run (the key we just took "taken", the value we just replaced "changed", a count of 2).
    server = make_redis_server()
    store = RedisStore.from_url(server.url)
    try:
        await assert_late_write_runs_once(store, server.process, lambda key: server.call("GET", key), write)
    finally:
        await store.aclose()


async def test_listen_after_aclose_ends(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    await store.aclose()
    assert [item async for item in store.listen()] == []
    with pytest.raises(StoreUnavailable):
        await store.get(KEY)


async def test_wait_always_without_replica_refuses_writes(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url + "?wait=1&wait_timeout=100")
    try:
        await assert_unavailable_quickly("set", lambda: store.set(KEY, b"v", 60))
        assert await store.get("pg:{u1}:other") is None  # reads do not wait
    finally:
        await store.aclose()


async def test_auto_wait_holds_writes_until_a_replica_has_them(
    make_redis_server: Callable[..., RedisServer],
) -> None:
    master = make_redis_server()
    replica = make_redis_server(extra={"replicaof": f"127.0.0.1 {master.port}"})
    wait_until(lambda: replication_streams(master.port, 1), timeout=10, what="the replica to sync")
    store = RedisStore.from_url(master.url + "?wait_timeout=200")
    try:
        await store.set(KEY, b"v1", 60)
        assert replica.call("GET", KEY) == "v1"  # WAIT returned: the replica has it
        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)  # a replica that does not acknowledge
        try:
            await assert_unavailable_quickly("set", lambda: store.set(KEY, b"v2", 60))
        finally:
            replica.process.send_signal(signal.SIGCONT)
        await store.set(KEY, b"v3", 60)
        assert replica.call("GET", KEY) == "v3"
    finally:
        await store.aclose()


def test_from_url_rejects_bad_options() -> None:
    with pytest.raises(ConfigError):
        RedisStore.from_url("redis://127.0.0.1:1/0?wait=maybe")
    with pytest.raises(ConfigError):
        RedisStore.from_url("redis://127.0.0.1:1/0?wait_timeout=soon")


async def test_idle_listener_sends_heartbeats(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    beats = 0

    async def count() -> None:
        nonlocal beats
        async for item in store.listen():
            beats += item == b""

    task = asyncio.create_task(count())
    try:
        await asyncio.sleep(1.5)
        assert beats >= 3  # a live feed speaks several times a second, so caches may trust it
    finally:
        await store.aclose()
        await asyncio.wait_for(task, 3)
