"""The second factors' tables: the TOTP secret sealed at rest, steps and recovery codes that work
once even when requests race, and RFC 6238's codes (its own test vector)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from passgate.deployment import create_schema
from passgate.errors import ConfigError
from passgate.identity.totp import TotpRepository, TotpState, new_recovery_codes, new_secret, schema, user_totp
from passgate.root import open_engine

SECRET = b"k" * 32
NOW = 1_800_000_000.0


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[TotpRepository]:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/f.db")
    await create_schema(engine, schema)
    yield TotpRepository(engine, SECRET, clock=lambda: NOW)
    await engine.dispose()


def test_codes_are_rfc_6238s() -> None:
    # RFC 6238 Appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits are its last six.
    state = TotpState("u", True, 0, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")  # base32 of "12345678901234567890"
    assert state.matching_step("287082", 59.0) == 1
    assert state.matching_step("287 082", 59.0 + 30) == 1  # one step of drift, spaces ignored
    assert state.matching_step("287082", 59.0 + 60) is None  # two steps: too far
    assert state.matching_step("28708", 59.0) is None and state.matching_step("２８７０８２", 59.0) is None


async def test_the_secret_is_sealed_at_rest(repo: TotpRepository, tmp_path: Path) -> None:
    secret = new_secret()
    assert await repo.set_pending("u1", secret)
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/f.db")
    async with engine.connect() as conn:
        sealed = (await conn.execute(select(user_totp.c.secret))).scalar_one()
    assert secret.encode() not in sealed and len(sealed) == 1 + 12 + len(secret) + 16
    other = TotpRepository(engine, b"x" * 32)
    with pytest.raises(ConfigError, match="deployment secret"):
        await other.get("u1")
    state = await repo.get("u1")
    assert state is not None and state.secret == secret and not state.enabled
    assert secret not in repr(state)
    await engine.dispose()


async def test_a_step_is_taken_once_by_racing_requests(repo: TotpRepository) -> None:
    assert await repo.set_pending("u1", new_secret())
    assert not await repo.take_step("u1", 100, enabled=True)  # not on yet
    assert await repo.enable("u1", 100, new_recovery_codes())
    assert not await repo.set_pending("u1", new_secret())  # on: no new enrolment over it
    taken = await asyncio.gather(*(repo.take_step("u1", 101, enabled=True) for _ in range(8)))
    assert sorted(taken) == [False] * 7 + [True]
    assert not await repo.take_step("u1", 100, enabled=True)  # an older step, after a newer one


async def test_a_recovery_code_is_spent_once(repo: TotpRepository) -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    assert await repo.set_pending("u1", new_secret()) and await repo.enable("u1", 1, codes)
    assert await repo.has_recovery("u1", codes[0].upper().replace("-", " "))
    assert not await repo.has_recovery("u2", codes[0])  # another account's code is not this one's
    spent = await asyncio.gather(*(repo.spend_recovery("u1", codes[0]) for _ in range(5)))
    assert sorted(spent) == [False] * 4 + [True]
    assert await repo.recovery_left("u1") == 9
    assert await repo.remove("u1") and await repo.recovery_left("u1") == 0 and not await repo.remove("u1")


def test_pyotp_agrees_with_the_secrets_made_here() -> None:
    secret = new_secret()
    assert len(secret) == 32 and TotpState("u", True, 0, secret).matching_step(pyotp.TOTP(secret).at(NOW), NOW)
