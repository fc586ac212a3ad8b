"""The login's password check computes argon2id's lanes in the pool's own thread; argon2-cffi's
own verification is the oracle it must agree with, for every hash it may meet."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator

import argon2
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from passgate.errors import ClientGone
from passgate.identity.passwords import HashPolicy, PasswordHasher, _argon2id_in_this_thread, client_departure
from passgate.web.middleware import RequestGuardMiddleware

PASSWORDS = ["correct horse battery", "", "한글 비밀번호", "nul\x00inside", "x" * 4096]


def oracle(stored: str, password: str) -> bool:
    try:
        return argon2.PasswordHasher().verify(stored, password)
    except argon2.exceptions.VerificationError:
        return False


@pytest.mark.parametrize("lanes", [1, 2, 4])
@pytest.mark.parametrize("password", PASSWORDS)
def test_agrees_with_argon2_cffi(lanes: int, password: str) -> None:
    stored = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=lanes, type=argon2.Type.ID).hash(password)
    for attempt in (password, password + "!", password[:-1], password.upper()):
        assert _argon2id_in_this_thread(stored, attempt) is oracle(stored, attempt)


def test_the_v16_encoding_and_other_lengths_verify() -> None:
    salt = b"sixteen byte salt"
    for version, hash_len in ((16, 32), (19, 16), (19, 64)):
        stored = argon2.low_level.hash_secret(b"pw", salt, time_cost=1, memory_cost=1024, parallelism=2,
                                              hash_len=hash_len, type=argon2.Type.ID, version=version).decode()
        assert _argon2id_in_this_thread(stored, "pw") and not _argon2id_in_this_thread(stored, "pX")


@pytest.mark.parametrize("stored", [
    "", "plain text", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
    "$argon2id$v=19$m=1024,t=1,p=1$!!!!$aGFzaGhhc2hoYXNoaGFzaA",
    "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # memory below libargon2's minimum
    "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # beyond 32 bits
    "$argon2id$v=19$m=1024,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=argon2.Type.I).hash("pw"),
])
async def test_a_bad_stored_hash_never_matches(stored: str) -> None:
    verdict = await PasswordHasher(HashPolicy(time_cost=1, memory_kib=1024, parallelism=1)).verify(stored, "pw")
    assert not verdict.ok


class Departure:
    """What the web layer hands the hasher: an awaitable per wait, done once the client hangs up."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> Awaitable[object]:
        return self.event.wait()


Busy = tuple[PasswordHasher, threading.Event]


@pytest.fixture
def busy_hasher() -> Iterator[Busy]:
    """A hasher with one thread, held busy until the event is set."""
    hasher = PasswordHasher(HashPolicy(1, 1024, 1), threads=1)
    free = threading.Event()
    hasher._pool.submit(free.wait)
    yield hasher, free
    free.set()
    hasher.close()


async def test_a_hash_whose_client_hung_up_is_dropped_unrun(busy_hasher: Busy) -> None:
    hasher, _ = busy_hasher
    departure = Departure()
    client_departure.set(departure)
    waiting = [asyncio.create_task(hasher.verify(None, "pw")) for _ in range(3)]
    await asyncio.sleep(0.05)
    departure.event.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, ClientGone) for result in results)
    assert (hasher.counts["computed"], hasher.counts["dropped"]) == (0, 3)


async def test_a_client_that_stays_gets_its_answer(busy_hasher: Busy) -> None:
    hasher, free = busy_hasher
    client_departure.set(Departure())  # never departs
    task = asyncio.create_task(hasher.hash("correct horse"))
    await asyncio.sleep(0.05)
    free.set()
    stored = await task
    assert (await hasher.verify(stored, "correct horse")).ok
    assert (hasher.counts["computed"], hasher.counts["dropped"]) == (2, 0)


async def test_a_hash_already_running_finishes_for_nobody() -> None:
    hasher = PasswordHasher(HashPolicy(2, 65536, 1), threads=1)  # ~100 ms: it is still running below
    departure = Departure()
    client_departure.set(departure)
    task = asyncio.create_task(hasher.verify(None, "pw"))
    while not hasher.counts["computed"]:
        await asyncio.sleep(0.001)
    departure.event.set()
    with pytest.raises(ClientGone):
        await task
    assert (hasher.counts["computed"], hasher.counts["dropped"]) == (1, 0)
    hasher.close()


@pytest.mark.parametrize("lanes", [1, 4])
@pytest.mark.parametrize("password", PASSWORDS)
async def test_new_hashes_are_what_argon2_cffi_writes(lanes: int, password: str) -> None:
    hasher = PasswordHasher(HashPolicy(1, 1024, lanes), threads=1)
    stored, again = await hasher.hash(password), await hasher.hash(password)
    hasher.close()
    assert oracle(stored, password) and not oracle(stored, password + "!")
    assert stored != again  # a fresh salt each time
    assert argon2.extract_parameters(stored) == argon2.Parameters(
        type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=1024, parallelism=lanes
    )
    assert not argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=lanes).check_needs_rehash(stored)



async def test_a_hash_begun_after_the_response_is_not_dropped() -> None:
    # A task the request spawned keeps the request's context; once the answer is sent, the client's
    # departure no longer concerns the task's hash.
    hasher = PasswordHasher(HashPolicy(1, 1024, 1), threads=1)
    later: list[asyncio.Task[str]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        later.append(asyncio.create_task(hasher.hash("correct horse")))
        await asyncio.sleep(0.05)  # the request is still being served when the task hashes

    transport = httpx.ASGITransport(app=RequestGuardMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://passgate.test") as client:
        assert (await client.post("/work", content=b"{}")).status_code == 204
    assert (await later[0]).startswith("$argon2id$")
    hasher.close()
