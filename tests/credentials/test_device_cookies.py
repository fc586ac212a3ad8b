"""Device cookies and the login limit they change, on a memory store with a clock the test moves."""

from __future__ import annotations

import pytest

from passgate.credentials.device_cookies import DeviceCookies
from passgate.credentials.ratelimit import LoginLimiter
from passgate.errors import RateLimited
from passgate.stores import MemoryStore

NOW = 1_800_000_000.0
YEAR = 365 * 86400.0
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def cookies(clock: list[float], secret: bytes = b"s" * 32) -> DeviceCookies:
    return DeviceCookies(secret, max_age=YEAR, clock=lambda: clock[0])


def test_a_device_cookie_names_its_account_and_nothing_else() -> None:
    clock = [NOW]
    devices = cookies(clock)
    value = devices.issue("user-a", HASH)
    device = devices.device(value, "user-a", HASH)
    assert device is not None and device not in value  # what its failures are counted under tells nothing
    assert devices.device(value, "user-b", HASH) is None
    assert "user-a" not in value
    assert cookies(clock, b"t" * 32).device(value, "user-a", HASH) is None  # another deployment's
    assert devices.issue("user-a", HASH) != value
    assert devices.device(devices.issue("user-a", HASH), "user-a", HASH) != device


def test_a_new_password_ends_the_device_cookies_of_the_old_one() -> None:
    devices = cookies([NOW])
    value = devices.issue("user-a", HASH)
    assert devices.device(value, "user-a", HASH + "x") is None


def test_a_device_cookie_lives_its_max_age_and_not_from_the_future() -> None:
    clock = [NOW]
    devices = cookies(clock)
    value = devices.issue("user-a", HASH)
    clock[0] = NOW + YEAR
    assert devices.device(value, "user-a", HASH) is not None
    clock[0] = NOW + YEAR + 1
    assert devices.device(value, "user-a", HASH) is None
    clock[0] = NOW - 120  # issued two minutes from now, as this clock sees it
    assert devices.device(value, "user-a", HASH) is None


@pytest.mark.parametrize("value", [
    None, "", "x", "1.2.3", "é" * 10, "1" * 13 + ".a.b", "9" * 2000, "1.\x00.2",
    "١" * 10 + "." + "a" * 22 + "." + "b" * 24,  # digits, but not ASCII ones
])
def test_anything_else_is_no_device_cookie(value: str | None) -> None:
    assert cookies([NOW]).device(value, "user-a", HASH) is None


def test_no_key_in_the_repr() -> None:
    assert "ss" not in repr(cookies([NOW]))


async def test_a_device_is_held_to_its_own_count_not_the_accounts() -> None:
    store = MemoryStore(clock=lambda: NOW)
    limiter = LoginLimiter(store, limit=3, window=300.0)
    for _ in range(3):
        await limiter.failed("alice", "10.0.0.1")
    with pytest.raises(RateLimited):
        await limiter.check("alice", "10.0.0.2")
    await limiter.check("alice", "10.0.0.2", device="d1")  # the account's lockout does not hold the device
    for n in range(3):
        await limiter.failed("alice", f"10.0.1.{n}", device="d1")
    with pytest.raises(RateLimited):
        await limiter.check("alice", "10.0.0.2", device="d1")
    await limiter.check("alice", "10.0.0.2", device="d2")
    with pytest.raises(RateLimited):
        await limiter.check("alice", "10.0.0.1", device="d2")  # the address's count holds for everyone
    with pytest.raises(RateLimited):
        await limiter.failed("alice", "10.0.2.1", device="d1")  # past the limit: 429, not 401
    assert (await store.peek_count("pg:rl:ip:10.0.1.0"))[0] == 1
