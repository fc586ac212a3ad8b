"""The credentials part on a memory store, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from passgate.credentials.cookies import CookieLogins
from passgate.credentials.dpop import ProofVerifier
from passgate.credentials.keys import KeyRing, new_signing_key
from passgate.credentials.logins import LoginRepository
from passgate.credentials.opening import LoginOpener, LoginPolicy
from passgate.credentials.records import Login
from passgate.credentials.refresh import RotationPolicy, TokenLogins
from passgate.credentials.signing import Signing
from passgate.credentials.tokens import AccessTokenCodec
from passgate.credentials.verifier import Verifier
from passgate.stores import MemoryStore, Store

NOW = 1_800_000_000.0
POLICY = LoginPolicy(session_idle=600.0, session_absolute=3600.0)
SECRET = b"s" * 32


@dataclass
class Node:
    """One node's view of the credentials: its own caches over a shared store."""

    logins: LoginRepository
    cookies: CookieLogins
    tokens: TokenLogins
    verifier: Verifier

    async def revoke(self, login: Login) -> None:
        await self.logins.revoke(login.user_id, [login.id])


def node(store: Store, signing: Signing, clock: Callable[[], float], rotation: RotationPolicy | None = None) -> Node:
    logins = LoginRepository(store, clock=clock, monotonic=clock)
    opener = LoginOpener(logins, POLICY, clock=clock)
    cookies = CookieLogins(logins, opener, clock=clock)
    tokens = TokenLogins(logins, opener, signing, secret=SECRET, rotation=rotation or RotationPolicy(), clock=clock)
    verifier = Verifier(logins, cookies, signing, ProofVerifier(store, clock=clock), clock=clock)
    return Node(logins, cookies, tokens, verifier)


@dataclass
class World(Node):
    clock: list[float]
    store: Store
    signing: Signing

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds

    def now(self) -> float:
        return self.clock[0]

    def other_node(self) -> Node:
        return node(self.store, self.signing, self.now, self.tokens.rotation)


@pytest.fixture
def world() -> World:
    clock = [NOW]
    ring = KeyRing.of(new_signing_key("EdDSA", created_at=NOW))
    codec = AccessTokenCodec(issuer="http://issuer.test", audience="passgate", access_ttl=300.0,
                             clock=lambda: clock[0])
    signing = Signing(codec, ring)
    store = MemoryStore(clock=lambda: clock[0])
    parts = node(store, signing, lambda: clock[0])
    return World(parts.logins, parts.cookies, parts.tokens, parts.verifier, clock, store, signing)
