"""The authenticator: a request's credential becomes a Caller once, and cookie callers' unsafe
requests prove themselves with the CSRF token and a same-site Origin."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from passgate.credentials.opening import Client
from passgate.credentials.records import Login
from passgate.errors import AuthError, CsrfFailed, MalformedRequest
from passgate.transports import BearerTransport, CookieTransport
from passgate.web.auth import Authenticator, Caller
from passgate.web.csrf import SessionCsrf
from tests.credentials.conftest import SECRET, World

COOKIES = CookieTransport(insecure=True)


def authenticator(world: World, public_url: str | None = None) -> Authenticator:
    return Authenticator(world.verifier, cookie=COOKIES, bearer=BearerTransport(), csrf=SessionCsrf(SECRET),
                         public_url=public_url)


def request(method: str, *headers: tuple[str, str]) -> Request:
    return Request({"type": "http", "method": method, "scheme": "http", "path": "/",
                    "headers": [(b"host", b"board.test"), *((n.encode(), v.encode()) for n, v in headers)]})


async def session(world: World) -> tuple[str, Caller]:
    cookie = await world.cookies.open("u" * 22, "alice", Client(), replacing=None)
    caller = await authenticator(world).caller(request("GET", ("cookie", f"{COOKIES.name}={cookie}")), required=True)
    assert caller is not None and caller.kind == "cookie" and caller.csrf_token
    return cookie, caller


async def test_a_request_asks_the_caches_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = authenticator(world)
    cookie = await world.cookies.open("u" * 22, "alice", Client(), replacing=None)
    await world.verifier.cookie(cookie)
    world.advance(61)  # a touch is due: the caches cannot settle it, the long way must
    asked: list[str] = []
    cookie_now = world.verifier.cookie_now

    def counted(value: str, header: bytes | None = None) -> Login | None:
        asked.append(value)
        return cookie_now(value, header)

    monkeypatch.setattr(world.verifier, "cookie_now", counted)
    sent = request("GET", ("cookie", f"{COOKIES.name}={cookie}"))
    assert auth.known(sent.scope) is None
    caller = await auth.caller(sent, required=True)
    assert caller is not None and caller.login.last_seen_at == world.clock[0]
    assert auth.known(sent.scope) is caller
    assert len(asked) == 1


async def test_authorization_decides_alone_and_a_cookie_beside_it_is_ignored(world: World) -> None:
    cookie, _ = await session(world)
    sent = request("GET", ("authorization", "Bearer not.a.token"), ("cookie", f"{COOKIES.name}={cookie}"))
    with pytest.raises(AuthError) as refused:
        await authenticator(world).caller(sent, required=True)
    assert refused.value.code == "token_invalid"


async def bearer_seen(world: World) -> tuple[Authenticator, str]:
    """An authenticator that has settled one bearer token the long way, and then seen its header."""
    auth = authenticator(world)
    pair = await world.tokens.open("u" * 22, "alice", Client())
    first = request("GET", ("authorization", f"Bearer {pair.access_token}"))
    assert await auth.caller(first, required=True) is not None
    assert auth.known(request("GET", ("authorization", f"Bearer {pair.access_token}")).scope) is not None
    return auth, pair.access_token


async def test_a_seen_token_in_a_malformed_request_is_still_refused(world: World) -> None:
    auth, token = await bearer_seen(world)
    twice = request("GET", ("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}"))
    with pytest.raises(MalformedRequest):
        await auth.caller(twice, required=True)


async def test_a_seen_token_beside_a_cookie_still_decides_alone(world: World) -> None:
    auth, token = await bearer_seen(world)
    cookie, _ = await session(world)
    both = request("GET", ("cookie", f"{COOKIES.name}={cookie}"), ("authorization", f"Bearer {token}"))
    caller = auth.known(both.scope)
    assert caller is not None and caller.kind == "token"


async def test_a_seen_cookie_value_is_a_cookie_caller_with_its_csrf_token(world: World) -> None:
    cookie, first = await session(world)
    auth = authenticator(world)
    header = ("cookie", f"{COOKIES.name}={cookie}")
    assert auth.known(request("GET", header).scope) is not None  # settled by the caches, its header remembered
    again = auth.known(request("GET", header).scope)
    assert again is not None and again.kind == "cookie" and again.csrf_token == first.csrf_token
    post = request("POST", header)
    caller = auth.known(post.scope)
    assert caller is not None
    with pytest.raises(CsrfFailed):  # the unsafe request proves itself all the same
        auth.check_csrf(post, caller)


async def test_no_credential_is_anonymous_until_one_is_required(world: World) -> None:
    assert await authenticator(world).caller(request("GET"), required=False) is None
    with pytest.raises(AuthError):
        await authenticator(world).caller(request("GET"), required=True)


@pytest.mark.parametrize(("token", "origin", "refused"), [
    ("right", None, False),
    ("right", "http://board.test", False),
    ("right", "http://BOARD.test/", False),
    (None, None, True),
    ("wrong", None, True),
    ("right", "http://evil.test", True),
    ("right", "null", True),
])
async def test_an_unsafe_cookie_request_proves_itself(
    world: World, token: str | None, origin: str | None, refused: bool
) -> None:
    cookie, caller = await session(world)
    headers = [("cookie", f"{COOKIES.name}={cookie}")]
    if token is not None:
        headers.append(("x-csrf-token", caller.csrf_token if token == "right" else "A" * 43))  # type: ignore[arg-type]
    if origin is not None:
        headers.append(("origin", origin))
    sent = request("POST", *headers)
    auth = authenticator(world)
    found = await auth.caller(sent, required=True)
    assert found is not None
    if refused:
        with pytest.raises(CsrfFailed):
            auth.check_csrf(sent, found)
    else:
        auth.check_csrf(sent, found)


async def test_a_form_token_stands_in_for_the_header_and_public_url_is_the_site(world: World) -> None:
    cookie, caller = await session(world)
    sent = request("DELETE", ("cookie", f"{COOKIES.name}={cookie}"), ("origin", "https://board.example"))
    auth = authenticator(world, public_url="https://board.example")
    found = await auth.caller(sent, required=True)
    assert found is not None
    auth.check_csrf(sent, found, form_token=caller.csrf_token)
    with pytest.raises(CsrfFailed):
        auth.check_csrf(sent, found, form_token=None)
