"""How long a node's cached login stays trusted: the age cap, local time, and notices that fail to go out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from passgate.credentials.logins import TRUST_CAP, LoginRepository, login_key
from passgate.credentials.records import Login, encode
from passgate.errors import StoreUnavailable
from passgate.stores import SqliteStore
from passgate.stores.redis import RedisStore
from tests.credentials.test_records import NOW, a_login
from tests.servers import RedisServer


async def until(check: Callable[[], bool], *, within: float) -> float:
    """Poll ``check`` every 10 ms; the seconds until it held (AssertionError after ``within``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    one, two = SqliteStore(tmp_path / "s.db"), SqliteStore(tmp_path / "s.db")
    yield one, two
    await one.aclose()
    await two.aclose()


async def test_a_live_feed_does_not_keep_an_entry_trusted_past_the_cap(pair: tuple[SqliteStore, SqliteStore]) -> None:
    # A notice that never comes (deleted behind the node's back) while the feed keeps beating:
    # the entry is re-read from the store once it is TRUST_CAP old.
    store_a, store_b = pair
    wall = [NOW]
    local = [0.0]
    node_b = LoginRepository(store_b, clock=lambda: wall[0], monotonic=lambda: local[0])
    await node_b.start()
    try:
        login = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
        await store_a.set(login_key(login.user_id, login.id), encode(login), 600)
        await asyncio.sleep(0.2)  # the feed has started and beats
        assert await node_b.get(login.user_id, login.id) is not None
        await store_a.delete(login_key(login.user_id, login.id))  # no notice
        while local[0] < TRUST_CAP - 0.4:
            local[0] += 0.4
            # A heartbeat and an audit at the new local time keep the feed alive: below the cap the entry
            # is trusted again as soon as they come back (within 2 s, however busy the machine).
            await until(lambda: node_b.cached(login.user_id, login.id, wall[0]) is not None, within=2.0)
        local[0] += 0.4
        await asyncio.sleep(0.25)
        assert node_b.cached(login.user_id, login.id, wall[0]) is None
        assert await node_b.get(login.user_id, login.id) is None
    finally:
        await node_b.stop()


async def test_cache_ages_are_local_time_not_the_wall_clock(pair: tuple[SqliteStore, SqliteStore]) -> None:
    # The wall clock steps back an hour (NTP, a VM restored) just after the read: the entry still
    # ages by the local monotonic clock, so it is not trusted for an hour more.
    store_a, store_b = pair
    wall = [NOW]
    node_a = LoginRepository(store_a, clock=lambda: wall[0])
    node_b = LoginRepository(store_b, clock=lambda: wall[0])  # no feed started: only MAX_AGE vouches
    login = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
    await node_a.add(login)
    assert await node_b.get(login.user_id, login.id) is not None
    await store_a.delete(login_key(login.user_id, login.id))
    wall[0] -= 3600
    await asyncio.sleep(0.6)
    assert node_b.cached(login.user_id, login.id, wall[0]) is None
    assert await node_b.get(login.user_id, login.id) is None


@dataclass
class Muted:
    """Two nodes on one Redis; node A's Redis user may not PUBLISH (a real refusal by the server).
    Node B follows the feed, with a login of A's it has read while the feed was live."""

    server: RedisServer
    node_a: LoginRepository
    node_b: LoginRepository
    login: Login


@pytest.fixture
async def muted(make_redis_server: Callable[..., RedisServer]) -> AsyncIterator[Muted]:
    server = make_redis_server()
    server.call("ACL", "SETUSER", "revoker", "on", ">revoker-pass", "~*", "&*", "+@all", "-publish")
    revoker = RedisStore.from_url(f"redis://revoker:revoker-pass@127.0.0.1:{server.port}/0?wait=0")
    reader = RedisStore.from_url(server.url + "?wait=0")
    node_a, node_b = LoginRepository(revoker), LoginRepository(reader)
    await node_b.start()
    try:
        login = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
        await node_a.add(login)
        await asyncio.sleep(0.5)  # node b's feed is live
        assert await node_b.get(login.user_id, login.id) is not None
        yield Muted(server, node_a, node_b, login)
    finally:
        await node_a.stop()
        await node_b.stop()
        await revoker.aclose()
        await reader.aclose()


async def test_a_notice_that_fails_after_the_delete_still_goes_out(muted: Muted) -> None:
    # The revoke answers StoreUnavailable, and once publishing works again the notice reaches the
    # other node without anyone retrying the logout.
    node_a, node_b, login = muted.node_a, muted.node_b, muted.login
    await node_a.start()
    with pytest.raises(StoreUnavailable):
        await node_a.revoke(login.user_id, [login.id])
    assert await node_a.get(login.user_id, login.id) is None
    muted.server.call("ACL", "SETUSER", "revoker", "+publish")
    lag = await until(lambda: node_b.cached(login.user_id, login.id, time.time()) is None, within=1.0)
    print(f"the retried notice reached the other node {lag * 1000:.0f} ms after publishing worked again")


@pytest.mark.parametrize("change", ["revoke", "new secret"])
async def test_a_notice_lost_with_its_publisher_is_caught_within_the_bound(muted: Muted, change: str) -> None:
    # The revoking node deletes the login and dies before its notice goes out (it may not PUBLISH,
    # and it stops, so nothing retries it).  The other node's feed keeps beating: no heartbeat can
    # tell.  The revocation count in the store does, well within the bound.
    node_a, node_b, login = muted.node_a, muted.node_b, muted.login
    await asyncio.sleep(0.6)  # older than MAX_AGE: only the feed vouches for it now
    with pytest.raises(StoreUnavailable):
        if change == "revoke":
            await node_a.revoke(login.user_id, [login.id])
        else:  # a password change gives the login a new secret: the old one ends like a revocation
            await node_a.update(login, replace(login, secret_digest=b"t" * 16), notify=True)
    await node_a.stop()  # the revoking process is gone with its notice
    lag = await until(lambda: node_b.cached(login.user_id, login.id, time.time()) is None, within=1.0)
    print(f"the lost notice ({change}) was caught {lag * 1000:.0f} ms after the publisher gave up")
    assert await node_b.get(login.user_id, login.id) != login
