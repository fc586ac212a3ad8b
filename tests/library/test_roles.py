"""Roles: ``require_role`` (FastAPI) and ``requires_role`` (Starlette) read them from the database, so
a role given or taken away counts at the next request; the ``roles`` claim only when turned on."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from passgate import Caller, Passgate, PassgateMiddleware, Settings, requires_role
from passgate.errors import ConfigError
from tests.nodes import FAST_HASHING

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD = "correct horse"


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@pytest.fixture
async def fastapi_app(tmp_path: Path) -> AsyncIterator[tuple[Passgate, httpx.AsyncClient]]:
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))
    app = FastAPI()
    auth.install(app)

    @app.get("/admin")
    async def admin(user: Caller = Depends(auth.require_role("admin", "owner"))) -> dict[str, Any]:  # noqa: B008
        return {"hello": user.username, "roles": list(user.roles or ())}

    async with auth.lifespan():
        await auth.register("alice", PASSWORD)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as client:
            yield auth, client


async def test_a_role_given_or_taken_counts_at_the_next_request(
    fastapi_app: tuple[Passgate, httpx.AsyncClient]
) -> None:
    auth, client = fastapi_app
    token = (await client.post("/api/token", json={"username": "alice", "password": PASSWORD})).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    refused = await client.get("/admin", headers=bearer)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert await auth.deployment.accounts.grant_role("alice", "owner") == ("owner",)
    allowed = await client.get("/admin", headers=bearer)
    assert allowed.json() == {"hello": "alice", "roles": ["owner"]}
    assert await auth.deployment.accounts.revoke_role("alice", "owner") == ()
    assert (await client.get("/admin", headers=bearer)).status_code == 403
    assert (await client.get("/admin")).status_code == 401
    assert "roles" not in claims(token["access_token"])  # the claim is off by default


async def test_a_cookie_caller_is_held_to_the_roles_too(fastapi_app: tuple[Passgate, httpx.AsyncClient]) -> None:
    auth, client = fastapi_app
    assert (await client.post("/api/session", json={"username": "alice", "password": PASSWORD})).status_code == 200
    assert (await client.get("/admin")).status_code == 403
    await auth.deployment.accounts.grant_role("alice", "admin")
    assert (await client.get("/admin")).json()["roles"] == ["admin"]


def test_a_role_name_is_checked_and_one_is_needed(tmp_path: Path) -> None:
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))
    with pytest.raises(ConfigError):
        auth.require_role()
    with pytest.raises(ConfigError, match="role"):
        auth.require_role("has space")


async def test_the_roles_claim_when_the_deployment_turns_it_on(tmp_path: Path) -> None:
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", roles_claim=True, **FAST))
    app = FastAPI()
    auth.install(app)
    async with auth.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                  base_url="https://t") as client:
        await auth.register("alice", PASSWORD)
        await auth.deployment.accounts.grant_role("alice", "moderator")
        pair = (await client.post("/api/token", json={"username": "alice", "password": PASSWORD})).json()
        assert claims(pair["access_token"])["roles"] == ["moderator"]
        await auth.deployment.accounts.grant_role("alice", "admin")
        refreshed = (await client.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]})).json()
        assert claims(refreshed["access_token"])["roles"] == ["admin", "moderator"]


async def test_starlette_requires_role(tmp_path: Path) -> None:
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))

    @requires_role("admin")
    async def admin(request: Request) -> Response:
        return JSONResponse({"hello": request.user.username})

    app = Starlette(routes=[Route("/admin", admin), Mount("/", app=auth.asgi_app())],
                    middleware=[Middleware(PassgateMiddleware, passgate=auth)])
    async with auth.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                  base_url="https://t") as client:
        await auth.register("alice", PASSWORD)
        pair = (await client.post("/api/token", json={"username": "alice", "password": PASSWORD})).json()
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        assert (await client.get("/admin")).status_code == 401
        assert (await client.get("/admin", headers=bearer)).json()["code"] == "forbidden"
        await auth.deployment.accounts.grant_role("alice", "admin")
        assert (await client.get("/admin", headers=bearer)).json() == {"hello": "alice"}


def test_the_cli_gives_and_takes_roles(tmp_path: Path) -> None:
    def cli(*args: str, stdin: str = "") -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(tmp_path)],
                              input=stdin, capture_output=True, text=True, timeout=60, check=True,
                              env={**FAST_HASHING, "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)})
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    cli("user", "create", "alice", stdin=PASSWORD + "\n")
    assert cli("user", "role", "add", "alice", "admin") == {"username": "alice", "roles": ["admin"]}
    assert cli("user", "role", "add", "alice", "ops") == {"username": "alice", "roles": ["admin", "ops"]}
    assert cli("user", "role", "remove", "alice", "admin") == {"username": "alice", "roles": ["ops"]}
