"""Two Passgate instances with different settings in one process are two deployments: nothing is shared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from passgate import Caller, Passgate
from tests.e2e.api import COOKIE, cookie_value

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD = "correct horse"


def protected(auth: Passgate) -> FastAPI:
    app = FastAPI()
    auth.install(app)

    @app.get("/hello")
    async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:  # noqa: B008
        return {"hello": user.username}

    return app


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    first = Passgate.from_env(data_dir=tmp_path / "first", **FAST)
    second = Passgate.from_env(data_dir=tmp_path / "second", store="memory://", jwt_alg="HS256", access_ttl="5m",
                               **FAST)
    async with AsyncExitStack() as stack:
        pair = []
        for auth in (first, second):
            await stack.enter_async_context(auth.lifespan())
            transport = httpx.ASGITransport(app=protected(auth))
            pair.append(await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t")))
        yield pair[0], pair[1]


async def post(client: httpx.AsyncClient, path: str, **body: Any) -> httpx.Response:
    return await client.post(path, json=body)


async def test_a_login_on_one_is_unknown_to_the_other(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    first, second = clients
    for client in clients:  # two user tables: the same name registers on each
        assert (await post(client, "/api/users", username="ada", password=PASSWORD)).status_code == 201

    tokens = (await post(first, "/api/token", username="ada", password=PASSWORD)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await first.get("/hello", headers=bearer)).json() == {"hello": "ada"}
    refused = await second.get("/hello", headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_invalid"
    assert (await post(second, "/api/token/refresh", refresh_token=tokens["refresh_token"])).status_code == 401

    opened = await post(first, "/api/session", username="ada", password=PASSWORD)
    cookie = {"Cookie": f"{COOKIE}={cookie_value(opened)}"}
    assert (await first.get("/hello", headers=cookie)).status_code == 200
    assert (await second.get("/hello", headers=cookie)).status_code == 401


async def test_each_keeps_its_own_settings(clients: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    first, second = clients
    assert (await first.get("/.well-known/jwks.json")).json()["keys"][0]["kty"] == "OKP"  # EdDSA
    assert (await second.get("/.well-known/jwks.json")).json() == {"keys": []}  # HS256: nothing public
    for client in clients:
        assert (await post(client, "/api/users", username="bob", password=PASSWORD)).status_code == 201
    first_tokens = (await post(first, "/api/token", username="bob", password=PASSWORD)).json()
    second_tokens = (await post(second, "/api/token", username="bob", password=PASSWORD)).json()
    assert 590 < first_tokens["expires_in"] <= 600
    assert 290 < second_tokens["expires_in"] <= 300


async def test_install_leaves_the_apps_own_routes_in_charge(tmp_path: Path) -> None:
    auth = Passgate.from_env(data_dir=tmp_path, store="memory://", **FAST)
    app = FastAPI()

    @app.get("/healthz")
    async def own_health() -> dict[str, str]:
        return {"status": "the app's own"}

    auth.install(app)
    async with auth.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/healthz")).json() == {"status": "the app's own"}
        assert (await c.get("/readyz")).status_code == 200
        assert (await c.get("/api/me")).status_code == 401
