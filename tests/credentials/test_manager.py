"""The login manager's synchronous path (a cached login vouched for without an await) against its
asynchronous one: whatever the first accepts, the second would too, and every hostile credential
falls through to the second, which refuses it."""

from __future__ import annotations

import pytest

from passgate.credentials.logins import LoginRepository
from passgate.credentials.manager import Client, LoginManager
from passgate.credentials.records import Login
from passgate.errors import AuthError, TokenInvalid
from tests.credentials.conftest import POLICY, World
from tests.credentials.test_tokens import sign


async def cookie_of(world: World) -> str:
    return await world.manager.open_session("u" * 22, "alice", Client(), replacing=None)


async def test_a_cached_cookie_login_is_vouched_for_at_once(world: World) -> None:
    cookie = await cookie_of(world)
    login = world.manager.session_now(cookie)
    assert login is not None and login == await world.manager.session(cookie)


@pytest.mark.parametrize("forge", [
    lambda c: c[:-43] + "A" * 43,       # the real ids, a wrong secret
    lambda c: c[:-1],                   # a secret one character short
    lambda c: c.replace(".", "-", 1),   # not three parts
    lambda c: "x" * 5000,
    lambda c: "",
])
async def test_a_forged_cookie_falls_through_and_is_refused(world: World, forge: object) -> None:
    forged = forge(await cookie_of(world))  # type: ignore[operator]
    assert world.manager.session_now(forged) is None
    with pytest.raises(AuthError):
        await world.manager.session(forged)


async def test_a_refresh_token_is_no_cookie(world: World) -> None:
    pair = await world.manager.open_tokens("u" * 22, "alice", Client())
    assert world.manager.session_now(pair.refresh_token) is None
    with pytest.raises(AuthError):
        await world.manager.session(pair.refresh_token)


async def test_a_revoked_or_expired_cookie_login_is_not_vouched_for(world: World) -> None:
    revoked, idle = await cookie_of(world), await cookie_of(world)
    login = world.manager.session_now(revoked)
    assert login is not None
    await world.manager.revoke(login)
    assert world.manager.session_now(revoked) is None
    world.advance(POLICY.session_idle)
    assert world.manager.session_now(idle) is None
    with pytest.raises(AuthError):
        await world.manager.session(idle)


async def test_a_due_touch_goes_the_long_way_and_then_is_cached_again(world: World) -> None:
    cookie = await cookie_of(world)
    world.advance(61)  # past the touch interval: the idle expiry must be written
    assert world.manager.session_now(cookie) is None
    touched = await world.manager.session(cookie)
    assert touched.last_seen_at == world.clock[0]
    assert world.manager.session_now(cookie) == touched


async def test_a_bearer_token_is_vouched_for_once_verified_until_revoked(world: World) -> None:
    pair = await world.manager.open_tokens("u" * 22, "alice", Client())
    assert world.manager.bearer_now(pair.access_token) is None  # never verified on this node
    login = await world.manager.bearer(pair.access_token)
    assert world.manager.bearer_now(pair.access_token) == login
    token = pair.access_token
    forged = token[:-10] + ("B" if token[-10] != "B" else "C") + token[-9:]  # another signature
    assert world.manager.bearer_now(forged) is None
    await world.manager.revoke(login)
    assert world.manager.bearer_now(pair.access_token) is None
    with pytest.raises(AuthError):
        await world.manager.bearer(pair.access_token)


async def test_an_expired_access_token_is_not_vouched_for(world: World) -> None:
    pair = await world.manager.open_tokens("u" * 22, "alice", Client())
    await world.manager.bearer(pair.access_token)
    world.advance(300)
    assert world.manager.bearer_now(pair.access_token) is None


async def test_a_token_not_yet_valid_never_enters_the_verified_cache(world: World) -> None:
    pair = await world.manager.open_tokens("u" * 22, "alice", Client())
    claims = world.manager.codec.verify(world.manager.ring(), pair.access_token)
    key = world.manager.ring().current
    header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    now = int(world.clock[0])
    payload = {"iss": "http://issuer.test", "aud": "passgate", "sub": claims.sub, "sid": claims.sid,
               "jti": "j" * 16, "iat": now, "exp": now + 300}
    beyond = sign(key, header, {**payload, "nbf": now + 31})
    with pytest.raises(TokenInvalid):
        await world.manager.bearer(beyond)
    within = sign(key, header, {**payload, "nbf": now + 20})
    assert (await world.manager.bearer(within)).id == claims.sid  # within the leeway
    assert world.manager.bearer_now(within) is None and len(world.manager.verified) == 0
    world.advance(20)
    await world.manager.bearer(within)
    assert world.manager.bearer_now(within) is not None  # its nbf has passed: cached from now on
    world.advance(281)
    assert world.manager.bearer_now(within) is None  # and never past its exp


async def test_a_cookie_from_another_node_is_vouched_for_once_its_secret_matched(world: World) -> None:
    cookie = await cookie_of(world)
    store = world.manager.logins._store  # the same records, another node's caches
    other = LoginManager(LoginRepository(store, clock=lambda: world.clock[0]), policy=POLICY, secret=b"s" * 32,
                         codec=world.manager.codec, ring=world.manager.ring, clock=lambda: world.clock[0])
    assert other.session_now(cookie) is None  # never seen here: the long way checks the secret first
    assert other.session_now(cookie[:-43] + "A" * 43) is None
    login = await other.session(cookie)
    assert other.session_now(cookie) == login


async def test_a_refused_cookie_leaves_the_verified_cookies(world: World) -> None:
    cookie = await cookie_of(world)
    login = world.manager.session_now(cookie)
    assert login is not None and len(world.manager.verified_cookies) == 1
    await world.manager.revoke(login)
    with pytest.raises(AuthError):
        await world.manager.session(cookie)
    assert len(world.manager.verified_cookies) == 0


async def test_a_request_asks_the_caches_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.requests import Request

    from passgate.transports import BearerTransport, CookieTransport
    from passgate.web.auth import Authenticator

    cookies = CookieTransport(insecure=True)
    auth = Authenticator(world.manager, cookie=cookies, bearer=BearerTransport(), public_url=None)
    cookie = await cookie_of(world)
    world.advance(61)  # a touch is due: the caches cannot settle it, the long way must
    asked: list[str] = []
    session_now = world.manager.session_now
    def counted(value: str) -> Login | None:
        asked.append(value)
        return session_now(value)

    monkeypatch.setattr(world.manager, "session_now", counted)
    request = Request({"type": "http", "method": "GET", "headers": [(b"cookie", f"{cookies.name}={cookie}".encode())]})
    assert auth.known(request.scope) is None
    caller = await auth.caller(request, required=True)
    assert caller is not None and caller.login.last_seen_at == world.clock[0]
    assert auth.known(request.scope) is caller
    assert len(asked) == 1
