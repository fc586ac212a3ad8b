"""A login manager on a memory store, with a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from passgate.credentials.keys import KeyRing, new_signing_key
from passgate.credentials.logins import LoginRepository
from passgate.credentials.manager import LoginManager, LoginPolicy
from passgate.credentials.tokens import AccessTokenCodec
from passgate.stores import MemoryStore

NOW = 1_800_000_000.0
POLICY = LoginPolicy(session_idle=600.0, session_absolute=3600.0, access_ttl=300.0)


@dataclass
class World:
    clock: list[float]
    manager: LoginManager

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds


@pytest.fixture
def world() -> World:
    clock = [NOW]
    ring = KeyRing.of(new_signing_key("EdDSA", created_at=NOW))
    codec = AccessTokenCodec(issuer="http://issuer.test", audience="passgate", access_ttl=300.0,
                             clock=lambda: clock[0])
    logins = LoginRepository(MemoryStore(clock=lambda: clock[0]), clock=lambda: clock[0])
    manager = LoginManager(logins, policy=POLICY, secret=b"s" * 32, codec=codec, ring=lambda: ring,
                           clock=lambda: clock[0])
    return World(clock, manager)
