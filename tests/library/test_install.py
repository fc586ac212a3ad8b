"""What ``install()`` lets an application choose: which of passgate's routes it serves, whether signup
is open, the body cap, and whether passgate's guards cover the whole app or passgate's routes only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from passgate import Caller, Passgate, Settings

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD = "correct horse"
EVIL = {"Origin": "https://evil.example"}


@asynccontextmanager
async def serving(tmp_path: Path, **install: Any) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))
    app = FastAPI()
    auth.install(app, **install)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/hello")
    async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:  # noqa: B008
        return {"hello": user.username}

    async with auth.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, app


async def test_by_default_the_guards_cover_passgates_routes_only(tmp_path: Path) -> None:
    async with serving(tmp_path) as (client, _):
        big = b"x" * (100 * 1024)
        assert (await client.post("/upload", content=big, headers=EVIL)).json() == {"size": len(big)}
        refused = await client.post("/api/users", json={"username": "ada", "password": PASSWORD}, headers=EVIL)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
        too_big = await client.post("/api/users", content=big, headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413
        assert (await client.get("/metrics")).status_code == 200


async def test_the_guards_may_cover_the_whole_app_with_a_body_cap_of_its_choice(tmp_path: Path) -> None:
    async with serving(tmp_path, guard="app", body_limit=1024) as (client, _):
        assert (await client.post("/upload", content=b"x" * 1000)).json() == {"size": 1000}
        assert (await client.post("/upload", content=b"x" * 1025)).status_code == 413
        refused = await client.post("/upload", content=b"x", headers=EVIL)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"


async def test_the_app_chooses_the_routers_and_closes_signup(tmp_path: Path) -> None:
    async with serving(tmp_path, routers=["tokens", "logins"], signup=False) as (client, app):
        assert (await client.post("/api/users", json={"username": "ada", "password": PASSWORD})).status_code == 404
        assert (await client.post("/api/session", json={"username": "ada", "password": PASSWORD})).status_code == 404
        refused = await client.post("/api/token", json={"username": "ada", "password": PASSWORD})
        assert refused.status_code == 401  # the token endpoint is there
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/api/token" in paths and "/api/me" in paths and "/hello" in paths
        assert "/api/users" not in paths and "/api/session" not in paths
        assert app.url_path_for("open_tokens") == "/api/token"


async def test_an_unknown_router_is_refused_at_install(tmp_path: Path) -> None:
    from passgate.errors import ConfigError

    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))
    with pytest.raises(ConfigError):
        auth.install(FastAPI(), routers=["tokens", "sesions"])


async def test_a_route_passgate_does_not_serve_falls_through_to_the_app(tmp_path: Path) -> None:
    async with serving(tmp_path) as (client, app):
        @app.get("/api/status")
        async def status() -> dict[str, str]:
            return {"status": "ours"}

        assert (await client.get("/api/status")).json() == {"status": "ours"}
        missing = await client.get("/api/nothing")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        wrong = await client.put("/api/me")
        assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
