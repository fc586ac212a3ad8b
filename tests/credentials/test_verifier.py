"""The verifier's synchronous path (a cached login vouched for without an await) against its
asynchronous one: whatever the first accepts, the second would too, and every hostile credential
falls through to the second, which refuses it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from passgate.credentials import verifier as verifier_module
from passgate.credentials.dpop import ProofVerifier
from passgate.credentials.opening import Client
from passgate.credentials.records import Login
from passgate.credentials.verifier import Outage, Verifier
from passgate.errors import AuthError, InvalidDpopProof, StoreUnavailable, TokenInvalid
from passgate.stores import MemoryStore
from tests.credentials.conftest import POLICY, World
from tests.credentials.test_tokens import sign
from tests.dpop import Key


async def cookie_of(world: World) -> str:
    """A new session's cookie, verified once as the login's own answer does (``Passgate.start_session``)."""
    cookie = await world.cookies.open("u" * 22, "alice", Client(), replacing=None)
    await world.verifier.cookie(cookie)
    return cookie


async def test_a_cached_cookie_login_is_vouched_for_at_once(world: World) -> None:
    cookie = await cookie_of(world)
    login = world.verifier.cookie_now(cookie)
    assert login is not None and login == await world.verifier.cookie(cookie)


@pytest.mark.parametrize("forge", [
    lambda c: c[:-43] + "A" * 43,       # the real ids, a wrong secret
    lambda c: c[:-1],                   # a secret one character short
    lambda c: c.replace(".", "-", 1),   # not three parts
    lambda c: "x" * 5000,
    lambda c: "",
])
async def test_a_forged_cookie_falls_through_and_is_refused(world: World, forge: object) -> None:
    forged = forge(await cookie_of(world))  # type: ignore[operator]
    assert world.verifier.cookie_now(forged) is None
    with pytest.raises(AuthError):
        await world.verifier.cookie(forged)


async def test_a_refresh_token_is_no_cookie(world: World) -> None:
    pair = await world.tokens.open("u" * 22, "alice", Client())
    assert world.verifier.cookie_now(pair.refresh_token) is None
    with pytest.raises(AuthError):
        await world.verifier.cookie(pair.refresh_token)


async def test_a_revoked_or_expired_cookie_login_is_not_vouched_for(world: World) -> None:
    revoked, idle = await cookie_of(world), await cookie_of(world)
    login = world.verifier.cookie_now(revoked)
    assert login is not None
    await world.revoke(login)
    assert world.verifier.cookie_now(revoked) is None
    world.advance(POLICY.session_idle)
    assert world.verifier.cookie_now(idle) is None
    with pytest.raises(AuthError):
        await world.verifier.cookie(idle)


async def test_a_due_touch_goes_the_long_way_and_then_is_cached_again(world: World) -> None:
    cookie = await cookie_of(world)
    world.advance(61)  # past the touch interval: the idle expiry must be written
    assert world.verifier.cookie_now(cookie) is None
    touched = await world.verifier.cookie(cookie)
    assert touched.last_seen_at == world.clock[0]
    assert world.verifier.cookie_now(cookie) == touched


async def test_a_bearer_token_is_vouched_for_once_verified_until_revoked(world: World) -> None:
    pair = await world.tokens.open("u" * 22, "alice", Client())
    assert world.verifier.bearer_now(pair.access_token) is None  # never verified on this node
    login = await world.verifier.bearer(pair.access_token)
    assert world.verifier.bearer_now(pair.access_token) == login
    token = pair.access_token
    forged = token[:-10] + ("B" if token[-10] != "B" else "C") + token[-9:]  # another signature
    assert world.verifier.bearer_now(forged) is None
    await world.revoke(login)
    assert world.verifier.bearer_now(pair.access_token) is None
    with pytest.raises(AuthError):
        await world.verifier.bearer(pair.access_token)


async def test_an_expired_access_token_is_not_vouched_for(world: World) -> None:
    pair = await world.tokens.open("u" * 22, "alice", Client())
    await world.verifier.bearer(pair.access_token)
    world.advance(300)
    assert world.verifier.bearer_now(pair.access_token) is None


async def test_a_token_not_yet_valid_never_enters_the_verified_cache(world: World) -> None:
    pair = await world.tokens.open("u" * 22, "alice", Client())
    claims = world.signing.codec.verify(world.signing.ring, pair.access_token)
    key = world.signing.ring.current
    header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    now = int(world.clock[0])
    payload = {"iss": "http://issuer.test", "aud": "passgate", "sub": claims.sub, "sid": claims.sid,
               "jti": "j" * 16, "iat": now, "exp": now + 300}
    beyond = sign(key, header, {**payload, "nbf": now + 31})
    with pytest.raises(TokenInvalid):
        await world.verifier.bearer(beyond)
    within = sign(key, header, {**payload, "nbf": now + 20})
    assert (await world.verifier.bearer(within)).id == claims.sid  # within the leeway
    assert world.verifier.bearer_now(within) is None and len(world.verifier.tokens) == 0
    world.advance(20)
    await world.verifier.bearer(within)
    assert world.verifier.bearer_now(within) is not None  # its nbf has passed: cached from now on
    world.advance(281)
    assert world.verifier.bearer_now(within) is None  # and never past its exp

async def test_a_cookie_from_another_node_is_vouched_for_once_its_secret_matched(world: World) -> None:
    cookie = await cookie_of(world)
    other = world.other_node().verifier  # the same records, another node's caches
    assert other.cookie_now(cookie) is None  # never seen here: the long way checks the secret first
    assert other.cookie_now(cookie[:-43] + "A" * 43) is None
    login = await other.cookie(cookie)
    assert other.cookie_now(cookie) == login


async def test_a_refused_cookie_leaves_the_verified_cookies(world: World) -> None:
    cookie = await cookie_of(world)
    login = world.verifier.cookie_now(cookie)
    assert login is not None and len(world.verifier.cookies) == 1
    await world.revoke(login)
    with pytest.raises(AuthError):
        await world.verifier.cookie(cookie)
    assert len(world.verifier.cookies) == 0



# -- header values seen before -----------------------------------------------------------------------
# The shortest way: the exact header value that led to a login, while the login cache still answers
# with that very record.  Each test shows one way the record stops being it.


def bearer_header(token: str) -> bytes:
    return f"Bearer {token}".encode()


async def seen_token_of(world: World) -> tuple[str, bytes, Login]:
    pair = await world.tokens.open("u" * 22, "alice", Client())
    login = await world.verifier.bearer(pair.access_token)
    header = bearer_header(pair.access_token)
    assert world.verifier.bearer_now(pair.access_token, header) == login
    assert world.verifier.seen(True, header) is login
    return pair.access_token, header, login


async def test_a_seen_authorization_value_holds_until_its_login_is_revoked(world: World) -> None:
    token, header, login = await seen_token_of(world)
    await world.revoke(login)
    assert world.verifier.seen(True, header) is None
    assert world.verifier.bearer_now(token, header) is None
    with pytest.raises(AuthError):
        await world.verifier.bearer(token)


async def test_a_seen_authorization_value_holds_no_longer_than_its_token(world: World) -> None:
    _, header, _ = await seen_token_of(world)
    world.advance(299)
    assert world.verifier.seen(True, header) is not None
    world.advance(1)  # the access token's exp
    assert world.verifier.seen(True, header) is None


async def test_a_key_rotation_forgets_the_seen_authorization_values(world: World) -> None:
    _, header, _ = await seen_token_of(world)
    world.verifier.keys_changed()
    assert world.verifier.seen(True, header) is None


async def test_a_seen_value_is_only_the_exact_bytes_and_of_its_own_kind(world: World) -> None:
    token, header, _ = await seen_token_of(world)
    assert world.verifier.seen(True, f"bearer {token}".encode()) is None  # judged the long way instead
    assert world.verifier.seen(True, header + b" ") is None
    assert world.verifier.seen(False, header) is None  # a token's header is no cookie


async def test_a_seen_cookie_value_holds_until_a_touch_is_due(world: World) -> None:
    cookie = await cookie_of(world)
    header = f"pg_session={cookie}".encode()
    login = world.verifier.cookie_now(cookie, header)
    assert login is not None and world.verifier.seen(False, header) is login
    world.advance(59)
    assert world.verifier.seen(False, header) is login
    world.advance(2)  # the idle expiry is due a touch: only the long way writes it
    assert world.verifier.seen(False, header) is None
    touched = await world.verifier.cookie(cookie)
    assert world.verifier.cookie_now(cookie, header) == touched
    assert world.verifier.seen(False, header) is touched


async def test_a_seen_cookie_value_ends_with_its_session_though_no_touch_is_due(world: World) -> None:
    cookie = await cookie_of(world)
    header = f"pg_session={cookie}".encode()
    for step in (590, 590, 590, 590, 590, 550, 60):  # touched last 40 s before its absolute end (3,600 s)
        world.advance(step)
        await world.verifier.cookie(cookie)
    login = world.verifier.cookie_now(cookie, header)
    assert login is not None and login.last_seen_at == world.now()
    assert world.verifier.seen(False, header) is login
    world.advance(40)  # the absolute end, 20 s before the next touch would be due
    assert world.verifier.seen(False, header) is None
    with pytest.raises(AuthError):
        await world.verifier.cookie(cookie)


async def test_a_new_secret_ends_the_seen_cookie_value_at_once(world: World) -> None:
    cookie = await cookie_of(world)
    header = f"pg_session={cookie}".encode()
    login = world.verifier.cookie_now(cookie, header)
    assert login is not None
    renewed = await world.cookies.renew(login)  # a password change
    assert world.verifier.seen(False, header) is None
    assert world.verifier.cookie_now(cookie) is None
    with pytest.raises(AuthError):
        await world.verifier.cookie(cookie)
    assert (await world.verifier.cookie(renewed)).id == login.id


async def test_a_cookie_login_bound_to_a_browser_key_is_never_seen(world: World) -> None:
    cookie = await cookie_of(world)
    login = world.verifier.cookie_now(cookie)
    assert login is not None
    assert await world.logins.update(login, replace(login, jkt=Key().jkt))
    bound = await world.verifier.cookie(cookie)
    header = f"pg_session={cookie}".encode()
    assert bound.jkt and world.verifier.cookie_now(cookie, header) == bound
    assert world.verifier.seen(False, header) is None  # its bound cookie is checked on every request


async def test_the_seen_values_are_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier_module, "SEEN_ENTRIES", 2)
    token, _, _ = await seen_token_of(world)
    for suffix in (b"1", b"2", b"3"):
        world.verifier.bearer_now(token, bearer_header(token) + suffix)
    assert world.verifier.seen(True, bearer_header(token) + b"1") is None  # the oldest went first
    assert world.verifier.seen(True, bearer_header(token) + b"3") is not None


# -- DPoP-bound tokens -----------------------------------------------------------------------------

URL = "https://board.test/api/me"


class _ReplayMemoryDown(MemoryStore):
    """A shared store whose replay memory does not answer (the login records still do)."""

    shared = True

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        raise StoreUnavailable("down")


async def test_a_bound_token_is_never_vouched_for_as_a_bearer_token(world: World) -> None:
    key = Key()
    pair = await world.tokens.open("u" * 22, "alice", Client(), jkt=key.jkt)
    proof = key.proof("GET", URL, token=pair.access_token, iat=world.now())
    login, jkt = await world.verifier.dpop(pair.access_token, proof, method="GET", uri=URL)
    assert jkt == key.jkt and login.bound
    assert world.verifier.bearer_now(pair.access_token) is None  # cached, and still not a bearer token
    with pytest.raises(InvalidDpopProof):
        await world.verifier.bearer(pair.access_token)


@pytest.mark.parametrize("outage", ["grace", "closed"])
async def test_dpop_while_the_replay_memory_is_down(world: World, outage: Outage) -> None:
    key = Key()
    pair = await world.tokens.open("u" * 22, "alice", Client(), jkt=key.jkt)
    down = _ReplayMemoryDown(clock=world.now)
    verifier = Verifier(world.logins, world.cookies, world.signing, ProofVerifier(down, clock=world.now),
                        outage=outage, clock=world.now)
    proof = key.proof("GET", URL, token=pair.access_token, iat=world.now())
    if outage == "closed":
        with pytest.raises(StoreUnavailable):
            await verifier.dpop(pair.access_token, proof, method="GET", uri=URL)
        return
    login, _ = await verifier.dpop(pair.access_token, proof, method="GET", uri=URL)
    assert login.user_id == "u" * 22
    with pytest.raises(InvalidDpopProof):  # this node still knows its own proofs
        await verifier.dpop(pair.access_token, proof, method="GET", uri=URL)
