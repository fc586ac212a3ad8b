"""The passkeys' table and the ceremonies' challenges: a credential id belongs to one account, the sign
counter only grows (one winner when logins race), and a challenge is spent once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from passgate.credentials.challenges import WebauthnChallenges
from passgate.deployment import create_schema
from passgate.errors import WebauthnFailed
from passgate.identity.passkeys import PasskeyRepository, schema
from passgate.root import open_engine
from passgate.stores.memory import MemoryStore

NOW = 1_800_000_000.0


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[PasskeyRepository]:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    await create_schema(engine, schema)
    yield PasskeyRepository(engine, clock=lambda: NOW)
    await engine.dispose()


async def add(repo: PasskeyRepository, user_id: str = "alice", credential_id: str = "Y3JlZA", count: int = 0) -> str:
    passkey = await repo.add(user_id, credential_id=credential_id, public_key=b"\xa5cose", sign_count=count,
                             transports=("internal", "hybrid"), name="Laptop")
    return passkey.id


async def test_a_credential_id_belongs_to_one_account(repo: PasskeyRepository) -> None:
    await add(repo)
    with pytest.raises(WebauthnFailed) as refused:
        await add(repo, "mallory")
    assert refused.value.registration and "registered already" in refused.value.detail
    found = await repo.find("Y3JlZA")
    assert found is not None and found.user_id == "alice" and found.transports == ("internal", "hybrid")
    assert await repo.find("\x00") is None and await repo.find("x" * 2000) is None


async def test_the_counter_only_grows_and_one_racing_login_wins(repo: PasskeyRepository) -> None:
    passkey_id = await add(repo, count=3)
    assert not await repo.use(passkey_id, 3) and not await repo.use(passkey_id, 2)
    assert sorted(await asyncio.gather(*(repo.use(passkey_id, 7) for _ in range(4)))) == [False] * 3 + [True]
    found = await repo.find("Y3JlZA")
    assert found is not None and found.sign_count == 7 and found.last_used_at == NOW
    assert not await repo.use(passkey_id, 0)  # a counter that fell back to zero: a clone, or a reset device


async def test_an_authenticator_without_a_counter_stays_at_zero(repo: PasskeyRepository) -> None:
    passkey_id = await add(repo)
    assert await repo.use(passkey_id, 0) and await repo.use(passkey_id, 0)
    assert await repo.use(passkey_id, 1) and not await repo.use(passkey_id, 0)


async def test_removal_is_the_owners_alone(repo: PasskeyRepository) -> None:
    passkey_id = await add(repo)
    await add(repo, credential_id="b3RoZXI")
    assert await repo.remove("mallory", passkey_id) is None and await repo.remove("alice", "\x00") is None
    removed = await repo.remove("alice", passkey_id)
    assert removed is not None and removed.id == passkey_id
    assert [p.credential_id for p in await repo.list("alice")] == ["b3RoZXI"]
    assert await repo.remove_all("alice") == 1 and await repo.count("alice") == 0


async def test_a_challenge_is_spent_once_and_for_its_ceremony() -> None:
    now = [NOW]
    challenges = WebauthnChallenges(MemoryStore(clock=lambda: now[0]), ttl=60, clock=lambda: now[0])
    challenge = await challenges.issue("login", rp_id="localhost", origin="http://localhost:8000")
    taken = await challenges.take(challenge, "login")
    assert (taken.ceremony, taken.rp_id, taken.origin) == ("login", "localhost", "http://localhost:8000")
    with pytest.raises(WebauthnFailed):
        await challenges.take(challenge, "login")
    registration = await challenges.issue("register", rp_id="localhost", origin="o", user_id="alice")
    with pytest.raises(WebauthnFailed):
        await challenges.take(registration, "login")  # and it is spent by the attempt
    with pytest.raises(WebauthnFailed):
        await challenges.take(registration, "register")
    late = await challenges.issue("login", rp_id="localhost", origin="o")
    now[0] += 61
    with pytest.raises(WebauthnFailed):
        await challenges.take(late, "login")
    with pytest.raises(WebauthnFailed):
        await challenges.take(b"short", "login")
