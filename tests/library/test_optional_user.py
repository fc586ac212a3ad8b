"""``Depends(auth.optional_user)`` in a FastAPI app, in process: the caller, or None, never a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from passgate import Caller, Passgate
from tests.e2e.api import COOKIE, assert_problem, cookie_value
from tests.library.test_starlette import BASE, FAST, PASSWORD


def fastapi_app(auth: Passgate) -> FastAPI:
    app = FastAPI()
    auth.install(app)

    @app.api_route("/maybe", methods=["GET", "POST"])
    async def maybe(user: Caller | None = Depends(auth.optional_user)) -> dict[str, str | None]:  # noqa: B008
        return {"username": user.username if user else None, "kind": user.kind if user else None}

    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    auth = Passgate.from_env(data_dir=tmp_path, store="memory://", **FAST)
    async with auth.lifespan():
        transport = httpx.ASGITransport(app=fastapi_app(auth))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield client


async def test_anonymous_and_dead_credentials_are_none(client: httpx.AsyncClient) -> None:
    nobody = {"username": None, "kind": None}
    assert (await client.get("/maybe")).json() == nobody
    assert (await client.get("/maybe", headers={"Authorization": "Bearer a.b.c"})).json() == nobody
    assert (await client.get("/maybe", headers={"Authorization": "Basic YTpi"})).json() == nobody
    assert (await client.get("/maybe", headers={"Cookie": f"{COOKIE}=a.b.c"})).json() == nobody
    twice = await client.get("/maybe", headers=[("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer d")])
    assert_problem(twice, 400, "validation_failed")


async def test_callers_first_and_cached_and_after_logout(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/users", json={"username": "ada", "password": PASSWORD})).status_code == 201
    opened = await client.post("/api/session", json={"username": "ada", "password": PASSWORD})
    cookie = {"Cookie": f"{COOKIE}={cookie_value(opened)}"}
    client.cookies.clear()
    tokens = (await client.post("/api/token", json={"username": "ada", "password": PASSWORD})).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    for _ in range(2):  # the first request reads the login, the second finds it in the node's caches
        assert (await client.get("/maybe", headers=cookie)).json() == {"username": "ada", "kind": "cookie"}
        assert (await client.get("/maybe", headers=bearer)).json() == {"username": "ada", "kind": "token"}
    # Authorization alone judges: a bad token beside a good cookie is nobody, not the cookie's caller.
    mixed = await client.get("/maybe", headers={**cookie, "Authorization": "Bearer a.b.c"})
    assert mixed.json() == {"username": None, "kind": None}
    assert (await client.post("/api/token/revoke", headers=bearer)).status_code == 204
    assert (await client.get("/maybe", headers=bearer)).json() == {"username": None, "kind": None}
    logout = {**cookie, "X-CSRF-Token": opened.json()["csrf_token"]}
    assert (await client.delete("/api/session", headers=logout)).status_code == 204
    assert (await client.get("/maybe", headers=cookie)).json() == {"username": None, "kind": None}
