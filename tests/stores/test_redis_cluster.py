from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from passgate.credentials.logins import LoginRepository
from passgate.errors import ConfigError, StoreUnavailable
from passgate.root import open_store
from passgate.stores import Store
from passgate.stores.redis import REDIS_ERRORS
from passgate.stores.redis_cluster import RedisClusterStore
from tests.credentials.test_records import a_login
from tests.servers import RedisClusterServers
from tests.stores.contract import StoreContract
from tests.stores.test_redis import (
    LATE_WRITES,
    assert_late_write_runs_once,
    assert_unavailable_quickly,
    collect,
    next_item,
    real_sleep,
)

KEY = "pg:{u1}:secret-key-name"


class TestRedisClusterStore(StoreContract):
    @pytest.fixture
    async def store(self, redis_cluster: RedisClusterServers) -> AsyncIterator[Store]:
        redis_cluster.flushall()
        store = RedisClusterStore.from_url(redis_cluster.url)
        yield store
        await store.aclose()

    @pytest.fixture
    def advance(self) -> Callable[[float], Awaitable[None]]:
        return real_sleep  # the servers keep their own time


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, per_try: float = 2.5) -> float:
    """Retry ``check`` (StoreUnavailable counts as not yet) until it is true; the seconds it took.

    Every try must end, one way or the other, within ``per_try`` seconds: the store never hangs.
    """
    started = time.monotonic()
    while True:
        began = time.monotonic()
        try:
            if await check():
                return time.monotonic() - started
        except StoreUnavailable:
            pass
        assert time.monotonic() - began < per_try, "a store call hung"
        assert time.monotonic() - started < within, f"not recovered within {within} s"
        await asyncio.sleep(0.1)


async def test_open_store_builds_a_cluster_store(redis_cluster: RedisClusterServers) -> None:
    store = open_store(redis_cluster.url)
    assert isinstance(store, RedisClusterStore) and store.shared
    await store.ping()
    await store.set("pg:{a}:x", b"1", 60)
    await store.set("pg:{b}:x", b"2", 60)
    assert await store.get_many(["pg:{a}:x", "pg:{a}:y"]) == [b"1", None]
    await store.aclose()


async def test_writes_wait_for_the_replica(redis_cluster: RedisClusterServers) -> None:
    store = RedisClusterStore.from_url(redis_cluster.url + "?wait_timeout=200")
    [replica] = redis_cluster.replicas_of(redis_cluster.master_for(KEY))
    try:
        await store.set(KEY, b"v1", 60)
        assert replica.replica_get(KEY) == "v1"  # WAIT returned: the replica has it
        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)  # a replica that does not acknowledge
        try:
            await assert_unavailable_quickly("set", lambda: store.set(KEY, b"v2", 60))
            await assert_unavailable_quickly("delete", lambda: store.delete(KEY))
        finally:
            replica.process.send_signal(signal.SIGCONT)
        await store.set(KEY, b"v3", 60)
        assert replica.replica_get(KEY) == "v3"
    finally:
        await store.aclose()


async def test_failover_keeps_acknowledged_writes(redis_cluster: RedisClusterServers) -> None:
    redis_cluster.flushall()
    store = RedisClusterStore.from_url(redis_cluster.url)
    other_key = next(
        f"pg:{{u{i}}}:a"
        for i in range(2, 100)
        if redis_cluster.master_for(f"pg:{{u{i}}}:a").port != redis_cluster.master_for(KEY).port
    )
    killed = None
    try:
        await store.set(KEY, b"before", 60)  # answered only once a replica has it (WAIT)
        [replica] = redis_cluster.replicas_of(redis_cluster.master_for(KEY))
        assert replica.replica_get(KEY) == "before"
        await store.add_member("pg:{u1}:ix", "login", 60)
        await store.set(other_key, b"elsewhere", 60)
        killed = redis_cluster.kill_master_for(KEY)

        await assert_unavailable_quickly("get", lambda: store.get(KEY))
        await assert_unavailable_quickly("set", lambda: store.set(KEY, b"x", 60))

        async def served() -> bool:
            return await store.get(KEY) == b"before"

        assert await eventually(served, within=15) < 15
        assert await store.members("pg:{u1}:ix") == ["login"]
        assert await store.get(other_key) == b"elsewhere"
        await store.set(KEY, b"after", 60)  # the new master takes writes (it has no replica yet)
        assert await store.get(KEY) == b"after"
    finally:
        await store.aclose()
        if killed is not None:
            redis_cluster.revive(killed)


async def test_every_failure_during_a_failover_is_store_unavailable(
    redis_cluster: RedisClusterServers, caplog: pytest.LogCaptureFixture
) -> None:
    # While a master fails over, the other masters answer CLUSTERDOWN; redis-py's cluster client then
    # closes every connection it has, those of commands still in flight included, and such a command
    # fails inside redis-py with an AttributeError (its socket writer gone).  With a hundred commands
    # in flight most failovers produce a few; each must be StoreUnavailable, and be logged.
    redis_cluster.flushall()
    store = RedisClusterStore.from_url(redis_cluster.url)
    outcomes: Counter[str] = Counter()
    stop = asyncio.Event()

    async def client(key: str) -> None:
        while not stop.is_set():
            try:
                await store.set(key, b"v", 60)
                await store.get(key)
                outcomes["answered"] += 1
            except StoreUnavailable as exc:
                expected = isinstance(exc.__cause__, REDIS_ERRORS)
                outcomes["unavailable" if expected else "unavailable, logged"] += 1
            await asyncio.sleep(0)

    caplog.set_level(logging.ERROR, logger="passgate.stores")
    clients = [asyncio.create_task(client(f"pg:{{u{i}}}:k")) for i in range(128)]
    killed = None
    try:
        await asyncio.sleep(0.5)
        killed = redis_cluster.kill_master_for(KEY)
        await asyncio.to_thread(redis_cluster.wait_failover, killed)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        results = await asyncio.gather(*clients, return_exceptions=True)
        await store.aclose()
        if killed is not None:
            redis_cluster.revive(killed)
    print(dict(outcomes))
    assert [r for r in results if r is not None] == []  # nothing but StoreUnavailable came out of the store
    assert outcomes["answered"] and outcomes["unavailable"]
    logged = [r for r in caplog.records if r.name == "passgate.stores" and r.exc_info]
    assert len(logged) == outcomes["unavailable, logged"]


async def test_listener_moves_to_another_node(redis_cluster: RedisClusterServers) -> None:
    store = RedisClusterStore.from_url(redis_cluster.url)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    task = asyncio.create_task(collect(store, queue))
    killed = None
    try:
        assert await next_item(queue) is None
        await store.publish(b"one")
        assert await next_item(queue) == b"one"

        subscribed = [
            node for node in redis_cluster.live_nodes if node.call("PUBSUB", "NUMSUB", "passgate:changes")[1] > 0
        ]
        assert len(subscribed) == 1
        killed = subscribed[0]
        killed.kill()
        assert await next_item(queue, timeout=10) is None  # the drop, said at once
        assert await next_item(queue, timeout=10) is None  # moved to another node: resynchronise

        async def delivered() -> bool:
            await store.publish(b"two")
            return await next_item(queue, timeout=1) == b"two"

        await eventually(delivered, within=15)
        assert task.done() is False
    finally:
        await store.aclose()
        await asyncio.wait_for(task, 3)
        if killed is not None:
            redis_cluster.revive(killed)


@pytest.fixture(scope="module")
def cluster_without_replicas() -> Iterator[RedisClusterServers]:
    """Three masters and no replica: a master frozen for a moment cannot be failed over."""
    with RedisClusterServers(replicas=0) as cluster:
        yield cluster


@pytest.mark.parametrize("write", LATE_WRITES)
async def test_a_write_whose_reply_is_late_runs_once(cluster_without_replicas: RedisClusterServers, write: str) -> None:
    # As on one Redis; a master without replicas takes writes without WAIT, through the cluster
    # client's own retries (as a promoted master does until a replica reconnects).
    cluster = cluster_without_replicas
    cluster.wait_healthy()  # (the others may still count the master frozen before as failing)
    master = cluster.master_for(LATE_WRITES[write][1])
    store = RedisClusterStore.from_url(cluster.url)
    try:
        await assert_late_write_runs_once(store, master.process, lambda key: master.call("GET", key), write)
    finally:
        await store.aclose()
        cluster.flushall()


async def test_all_seeds_down_is_unavailable() -> None:
    store = RedisClusterStore.from_url("redis+cluster://127.0.0.1:1,127.0.0.1:2")
    try:
        await assert_unavailable_quickly("ping", store.ping)
        await assert_unavailable_quickly("get", lambda: store.get(KEY))
        await assert_unavailable_quickly("set", lambda: store.set(KEY, b"v", 60))
    finally:
        await store.aclose()


def test_from_url_parses_seeds_and_rejects_nonsense() -> None:
    store = RedisClusterStore.from_url("redis+cluster://u:p%40ss@10.0.0.1:7000,[::1]:7001,host?wait=0")
    assert store._seeds == [("10.0.0.1", 7000), ("::1", 7001), ("host", 6379)]
    with pytest.raises(ConfigError):
        RedisClusterStore.from_url("redis+cluster://")
    with pytest.raises(ConfigError):
        RedisClusterStore.from_url("redis+cluster://h:1/3")
    with pytest.raises(ConfigError):
        RedisClusterStore.from_url("redis+cluster://h:notaport")


class ListeningThrough(RedisClusterStore):
    """A cluster store whose change feed subscribes through one chosen node (the test picks a replica)."""

    def __init__(self, url: str, port: int) -> None:
        plain = RedisClusterStore.from_url(url)
        super().__init__(plain._client, options=plain._options, node_options=plain._node_options)
        self._listen_port = port

    def _listener_client(self, attempt: int) -> Redis:
        return Redis(host="127.0.0.1", port=self._listen_port, retry=Retry(NoBackoff(), 0), **self._node_options)


async def test_a_node_cut_off_the_cluster_bus_stops_vouching_for_its_cache(
    redis_cluster: RedisClusterServers,
) -> None:
    # The node a listener subscribed through is forgotten by the others (CLUSTER FORGET): it still
    # answers PING, so a PONG would say "alive", but no PUBLISH made elsewhere reaches it.  A login
    # revoked through another node must still be refused within the revocation bound.
    redis_cluster.wait_healthy()
    replica = redis_cluster.replicas_of(redis_cluster.master_for(KEY))[0]
    cut_off = ListeningThrough(redis_cluster.url, replica.port)
    elsewhere = RedisClusterStore.from_url(redis_cluster.url)
    node_a, node_b = LoginRepository(elsewhere), LoginRepository(cut_off)
    await node_a.start()
    await node_b.start()
    replica_id = str(replica.call("CLUSTER", "MYID"))
    others = [node for node in redis_cluster.live_nodes if node.port != replica.port]
    try:
        login = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
        await node_a.add(login)
        await asyncio.sleep(0.5)  # node b's feed is live
        assert await node_b.get(login.user_id, login.id) is not None
        for node in others:
            node.call("CLUSTER", "FORGET", replica_id)
        await node_a.revoke(login.user_id, [login.id])
        started = time.monotonic()
        while await node_b.get(login.user_id, login.id) is not None:
            assert time.monotonic() - started < 1.0, "a lost notice outlived the revocation bound"
            await asyncio.sleep(0.01)
        print(f"refused by the cut-off node {(time.monotonic() - started) * 1000:.0f} ms after the revoke")
    finally:
        await node_a.stop()
        await node_b.stop()
        await cut_off.aclose()
        await elsewhere.aclose()
        for node in others:
            node.call("CLUSTER", "MEET", "127.0.0.1", replica.port)
        redis_cluster.wait_healthy()
