"""The one suite every store passes: bind it to a backend with a three-line subclass.

A subclass provides the ``store`` fixture and ``advance(seconds)``, which moves the store's
clock forward (a fake clock for in-process stores, a real wait for servers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from passgate.stores import Store

Advance = Callable[[float], Awaitable[None]]

TTL = 0.6  # short enough for a real wait on a server-backed store


class StoreContract:
    async def test_get_missing(self, store: Store) -> None:
        assert await store.get("pg:{u1}:nothing") is None

    async def test_set_get_roundtrip_bytes(self, store: Store) -> None:
        value = bytes(range(256))
        await store.set("pg:{u1}:a", value, 60)
        assert await store.get("pg:{u1}:a") == value

    async def test_set_overwrites(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"one", 60)
        await store.set("pg:{u1}:a", b"two", 60)
        assert await store.get("pg:{u1}:a") == b"two"

    async def test_value_expires(self, store: Store, advance: Advance) -> None:
        await store.set("pg:{u1}:a", b"x", TTL)
        await advance(TTL + 0.3)
        assert await store.get("pg:{u1}:a") is None

    async def test_get_many_keeps_order(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"A", 60)
        await store.set("pg:{u1}:c", b"C", 60)
        got = await store.get_many(["pg:{u1}:c", "pg:{u1}:b", "pg:{u1}:a"])
        assert got == [b"C", None, b"A"]

    async def test_delete_counts_existing(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"A", 60)
        assert await store.delete("pg:{u1}:a", "pg:{u1}:b") == 1
        assert await store.get("pg:{u1}:a") is None

    async def test_replace_when_expected(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"old", 60)
        assert await store.replace("pg:{u1}:a", b"old", b"new", 60) is True
        assert await store.get("pg:{u1}:a") == b"new"

    async def test_replace_refuses_other_value(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"other", 60)
        assert await store.replace("pg:{u1}:a", b"old", b"new", 60) is False
        assert await store.get("pg:{u1}:a") == b"other"

    async def test_replace_never_resurrects(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"old", 60)
        await store.delete("pg:{u1}:a")
        assert await store.replace("pg:{u1}:a", b"old", b"new", 60) is False
        assert await store.get("pg:{u1}:a") is None

    async def test_replace_sets_new_ttl(self, store: Store, advance: Advance) -> None:
        await store.set("pg:{u1}:a", b"old", 60)
        assert await store.replace("pg:{u1}:a", b"old", b"new", TTL)
        await advance(TTL + 0.3)
        assert await store.get("pg:{u1}:a") is None

    async def test_set_if_absent_writes_once(self, store: Store) -> None:
        assert await store.set_if_absent("pg:{u1}:j", b"first", 60) is True
        assert await store.set_if_absent("pg:{u1}:j", b"second", 60) is False
        assert await store.get("pg:{u1}:j") == b"first"

    async def test_set_if_absent_refuses_a_key_set_otherwise(self, store: Store) -> None:
        await store.set("pg:{u1}:j", b"set", 60)
        assert await store.set_if_absent("pg:{u1}:j", b"new", 60) is False
        assert await store.get("pg:{u1}:j") == b"set"

    async def test_set_if_absent_after_expiry(self, store: Store, advance: Advance) -> None:
        assert await store.set_if_absent("pg:{u1}:j", b"one", TTL)
        await advance(TTL + 0.3)
        assert await store.set_if_absent("pg:{u1}:j", b"two", 60) is True
        assert await store.get("pg:{u1}:j") == b"two"

    async def test_set_if_absent_expires(self, store: Store, advance: Advance) -> None:
        assert await store.set_if_absent("pg:{u1}:j", b"one", TTL)
        await advance(TTL + 0.3)
        assert await store.get("pg:{u1}:j") is None

    async def test_set_if_absent_races_have_one_winner(self, store: Store) -> None:
        won = await asyncio.gather(*(store.set_if_absent("pg:{u1}:race", b"%d" % i, 60) for i in range(8)))
        assert won.count(True) == 1 and won.count(False) == 7

    async def test_set_if_absent_after_delete(self, store: Store) -> None:
        assert await store.set_if_absent("pg:{u1}:j", b"one", 60)
        await store.delete("pg:{u1}:j")
        assert await store.set_if_absent("pg:{u1}:j", b"two", 60) is True

    async def test_incr_counts_in_window(self, store: Store) -> None:
        assert (await store.incr("pg:{u1}:n", 60))[0] == 1
        count, left = await store.incr("pg:{u1}:n", 60)
        assert count == 2
        assert 0 < left <= 60

    async def test_incr_window_does_not_slide(self, store: Store, advance: Advance) -> None:
        await store.incr("pg:{u1}:n", TTL)
        await advance(TTL / 2)
        _, left = await store.incr("pg:{u1}:n", TTL)
        assert left <= TTL / 2 + 0.1

    async def test_incr_restarts_after_window(self, store: Store, advance: Advance) -> None:
        await store.incr("pg:{u1}:n", TTL)
        await store.incr("pg:{u1}:n", TTL)
        await advance(TTL + 0.3)
        assert (await store.incr("pg:{u1}:n", TTL))[0] == 1

    async def test_peek_count(self, store: Store) -> None:
        assert await store.peek_count("pg:{u1}:n") == (0, 0.0)
        await store.incr("pg:{u1}:n", 60)
        count, left = await store.peek_count("pg:{u1}:n")
        assert count == 1 and 0 < left <= 60
        assert (await store.peek_count("pg:{u1}:n"))[0] == 1

    async def test_members(self, store: Store) -> None:
        await store.add_member("pg:{u1}:ix", "b", 60)
        await store.add_member("pg:{u1}:ix", "a", 60)
        await store.add_member("pg:{u1}:ix", "a", 60)
        assert sorted(await store.members("pg:{u1}:ix")) == ["a", "b"]
        await store.remove_members("pg:{u1}:ix", "a", "zz")
        assert await store.members("pg:{u1}:ix") == ["b"]

    async def test_members_missing_is_empty(self, store: Store) -> None:
        assert await store.members("pg:{u2}:ix") == []

    async def test_members_expire(self, store: Store, advance: Advance) -> None:
        await store.add_member("pg:{u1}:ix", "a", TTL)
        await advance(TTL + 0.3)
        assert await store.members("pg:{u1}:ix") == []

    async def test_members_life_extends(self, store: Store, advance: Advance) -> None:
        await store.add_member("pg:{u1}:ix", "a", TTL)
        await store.add_member("pg:{u1}:ix", "b", 60)
        await advance(TTL + 0.3)
        assert sorted(await store.members("pg:{u1}:ix")) == ["a", "b"]

    async def test_delete_removes_set(self, store: Store) -> None:
        await store.add_member("pg:{u1}:ix", "a", 60)
        assert await store.delete("pg:{u1}:ix") == 1
        assert await store.members("pg:{u1}:ix") == []

    async def test_publish_reaches_listener(self, store: Store) -> None:
        received: list[bytes] = []

        async def listen() -> None:
            async for message in store.listen():
                if message:  # None is a resync point, b"" a heartbeat
                    received.append(message)
                    return

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.3)  # let the listener subscribe
        await store.publish(b"revoked:abc")
        await asyncio.wait_for(task, 5)
        assert received == [b"revoked:abc"]

    async def test_ping(self, store: Store) -> None:
        await store.ping()

    async def test_keys_are_independent(self, store: Store) -> None:
        await store.set("pg:{u1}:a", b"1", 60)
        await store.set("pg:{u2}:a", b"2", 60)
        await store.delete("pg:{u1}:a")
        assert await store.get("pg:{u2}:a") == b"2"


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]
