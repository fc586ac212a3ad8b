"""``PassgateMiddleware``, ``requires_user`` and ``Passgate.asgi_app`` in a plain Starlette app, in process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from passgate import Caller, Passgate, PassgateMiddleware, requires_user
from passgate.errors import ConfigError
from tests.dpop import Key
from tests.e2e.api import COOKIE, assert_problem, cookie_value
from tests.servers import RedisServer

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD = "correct horse"
BASE = "http://testserver"


def starlette_app(auth: Passgate) -> Starlette:
    @requires_user
    async def hello(request: Request) -> Response:
        user: Caller = request.user
        return JSONResponse({"hello": user.username, "kind": user.kind})

    async def whoami(request: Request) -> Response:
        user: Caller | None = request.user
        assert request.state.user is user
        return JSONResponse({"username": user.username if user else None})

    return Starlette(
        routes=[
            Route("/hello", hello, methods=["GET", "POST"]), Route("/whoami", whoami, methods=["GET", "POST"]),
            Mount("/", app=auth.asgi_app()),
        ],
        middleware=[Middleware(PassgateMiddleware, passgate=auth)],
    )


async def serve(auth: Passgate) -> AsyncIterator[httpx.AsyncClient]:
    async with auth.lifespan():
        transport = httpx.ASGITransport(app=starlette_app(auth))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield client


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(Passgate.from_env(data_dir=tmp_path, store="memory://", **FAST)):
        yield client


async def cookie_login(client: httpx.AsyncClient, name: str) -> tuple[dict[str, str], str]:
    assert (await client.post("/api/users", json={"username": name, "password": PASSWORD})).status_code == 201
    opened = await client.post("/api/session", json={"username": name, "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    return {"Cookie": f"{COOKIE}={cookie_value(opened)}"}, opened.json()["csrf_token"]


async def test_anonymous_and_bad_credentials(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/hello")
    assert_problem(anonymous, 401, "not_authenticated")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="passgate"'
    bad = await client.get("/hello", headers={"Authorization": "Bearer a.b.c"})
    assert_problem(bad, 401, "token_invalid")
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    twice = await client.get("/hello", headers=[("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer d")])
    assert_problem(twice, 400, "validation_failed")
    # A public route sees None for all of them, and answers.
    assert (await client.get("/whoami")).json() == {"username": None}
    assert (await client.get("/whoami", headers={"Authorization": "Bearer a.b.c"})).json() == {"username": None}


async def test_token_and_cookie_callers(client: httpx.AsyncClient) -> None:
    cookie, csrf = await cookie_login(client, "ada")
    assert (await client.get("/hello", headers=cookie)).json() == {"hello": "ada", "kind": "cookie"}
    assert (await client.get("/whoami", headers=cookie)).json() == {"username": "ada"}
    tokens = (await client.post("/api/token", json={"username": "ada", "password": PASSWORD})).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/hello", headers=bearer)).json() == {"hello": "ada", "kind": "token"}
    assert (await client.post("/hello", headers=bearer)).status_code == 200  # no CSRF for bearer callers
    # A token this node has seen, sent twice, is still a malformed request (the fast path does not skip the rule).
    twice = await client.get("/hello", headers=[("Authorization", bearer["Authorization"])] * 2)
    assert_problem(twice, 400, "validation_failed")
    # Authorization alone judges: a bad token beside a good cookie is refused.
    mixed = await client.get("/hello", headers={**cookie, "Authorization": "Bearer a.b.c"})
    assert_problem(mixed, 401, "token_invalid")
    # The mounted API shares the caller: logout there ends it here.
    assert (await client.delete("/api/session", headers={**cookie, "X-CSRF-Token": csrf})).status_code == 204
    assert_problem(await client.get("/hello", headers=cookie), 401, "session_revoked")


async def test_dpop_bound_callers(client: httpx.AsyncClient) -> None:
    await cookie_login(client, "dot")
    key = Key("EdDSA")
    opened = await client.post("/api/token", json={"username": "dot", "password": PASSWORD},
                               headers={"DPoP": key.proof("POST", f"{BASE}/api/token")})
    token = opened.json()["access_token"]
    proved = {"Authorization": f"DPoP {token}", "DPoP": key.proof("POST", f"{BASE}/hello", token=token)}
    assert (await client.post("/hello", headers=proved)).json() == {"hello": "dot", "kind": "token"}
    replayed = await client.post("/hello", headers=proved)
    assert_problem(replayed, 401, "invalid_dpop_proof")
    assert replayed.headers["www-authenticate"] == 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'
    assert (await client.get("/whoami", headers=proved)).json() == {"username": None}


async def test_cookie_callers_unsafe_requests_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    cookie, csrf = await cookie_login(client, "bea")
    assert_problem(await client.post("/hello", headers=cookie), 403, "csrf_failed")
    assert_problem(await client.post("/hello", headers={**cookie, "X-CSRF-Token": "wrong"}), 403, "csrf_failed")
    foreign = {**cookie, "X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert_problem(await client.post("/hello", headers=foreign), 403, "csrf_failed")
    # Without the token an unsafe request is anonymous, also for a route that does not require a user.
    assert (await client.post("/whoami", headers=cookie)).json() == {"username": None}
    good = await client.post("/hello", headers={**cookie, "X-CSRF-Token": csrf, "Origin": BASE})
    assert good.json() == {"hello": "bea", "kind": "cookie"}


async def test_the_mounted_api_keeps_its_guards(client: httpx.AsyncClient) -> None:
    login_csrf = await client.post(
        "/api/session", json={"username": "x", "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert_problem(login_csrf, 403, "csrf_failed")
    assert_problem(await client.post("/api/users", content=b"{" * 70_000,
                                     headers={"Content-Type": "application/json"}), 413, "payload_too_large")
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/openapi.json")).json()["paths"]["/api/session"]


async def test_other_scopes_pass_through_untouched(tmp_path: Path) -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError(message)

    middleware = PassgateMiddleware(inner, passgate=Passgate.from_env(data_dir=tmp_path, store="memory://"))
    for kind in ("lifespan", "websocket"):
        scope: dict[str, Any] = {"type": kind, "path": "/", "headers": [(b"cookie", COOKIE.encode() + b"=x")]}
        await middleware(scope, receive, send)
        assert seen[-1] is scope
        assert "user" not in scope and "state" not in scope


async def test_requires_user_without_the_middleware_says_so() -> None:
    @requires_user
    async def endpoint(request: Request) -> Response:
        raise AssertionError("reached")

    with pytest.raises(ConfigError, match="PassgateMiddleware"):
        await endpoint(Request({"type": "http", "method": "GET", "path": "/", "headers": []}))


async def test_a_store_outage_is_503_never_401(tmp_path: Path, make_redis_server: Callable[..., RedisServer]) -> None:
    redis = make_redis_server()
    async for client in serve(Passgate.from_env(data_dir=tmp_path, store=redis.url, **FAST)):
        cookie, _ = await cookie_login(client, "cat")
        assert (await client.get("/hello", headers=cookie)).status_code == 200
        redis.kill()
        deadline = time.monotonic() + 5
        while (answer := await client.get("/hello", headers=cookie)).status_code == 200:
            assert time.monotonic() < deadline, "still served from the cache 5 s into the outage"
            await asyncio.sleep(0.1)
        assert_problem(answer, 503, "store_unavailable")
        assert int(answer.headers["retry-after"]) >= 1
        assert (await client.get("/whoami", headers=cookie)).json() == {"username": None}  # public routes answer
