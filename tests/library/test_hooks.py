"""The application's hooks around the account flows: each runs where it says, an ``after_*`` hook that
raises breaks nothing, and a ``before_*`` hook may refuse with a problem of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from passgate import Hooks, Passgate, Refused, Settings, User

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD, NEW = "correct horse", "battery staple"


class Recorder(Hooks):
    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    async def before_register(self, username: str, email: str | None) -> None:
        if username.startswith("spam"):
            raise Refused("sign-up is by invitation", code="invite_only")
        self.seen.append(("before_register", username))

    async def after_register(self, user: User) -> None:
        self.seen.append(("after_register", user.username))
        raise RuntimeError("the welcome mail failed")  # observed: the account stands

    async def before_login(self, user: User, method: str) -> None:
        if user.username == "crashes":
            raise KeyError("a bug in the app's check")
        self.seen.append(("before_login", user.username, method))

    async def after_login(self, user: User, kind: str, login_id: str, method: str) -> None:
        self.seen.append(("after_login", user.username, kind, bool(login_id), method))
        raise RuntimeError("the app's own audit store is down")

    async def after_failed_login(self, username: str, ip: str) -> None:
        self.seen.append(("after_failed_login", username))

    async def after_logout(self, user_id: str, login_id: str) -> None:
        self.seen.append(("after_logout", bool(user_id and login_id)))

    async def after_password_change(self, user_id: str, via: str) -> None:
        self.seen.append(("after_password_change", via))

    async def after_account_deleted(self, user_id: str) -> None:
        self.seen.append(("after_account_deleted", bool(user_id)))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Recorder, httpx.AsyncClient]]:
    hooks = Recorder()
    auth = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST), hooks=hooks)
    app = FastAPI()
    auth.install(app)
    async with auth.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                  base_url="https://t") as client:
        yield hooks, client


async def test_every_flow_runs_its_hooks_and_a_failing_observer_breaks_none(
    served: tuple[Recorder, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    hooks, client = served
    assert (await client.post("/api/users", json={"username": "alice", "password": PASSWORD})).status_code == 201
    wrong = await client.post("/api/session", json={"username": "alice", "password": "not it at all"})
    assert wrong.status_code == 401
    session = await client.post("/api/session", json={"username": "alice", "password": PASSWORD})
    assert session.status_code == 200
    pair = (await client.post("/api/token", json={"username": "alice", "password": PASSWORD})).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    change = {"current_password": PASSWORD, "new_password": NEW}
    assert (await client.put("/api/me/password", json=change, headers=bearer)).status_code == 204
    assert (await client.post("/api/token/revoke", headers=bearer)).status_code == 204
    again = (await client.post("/api/token", json={"username": "alice", "password": NEW})).json()
    gone = await client.request("DELETE", "/api/me", json={"password": NEW},
                                headers={"Authorization": f"Bearer {again['access_token']}"})
    assert gone.status_code == 204, gone.text
    assert hooks.seen == [
        ("before_register", "alice"), ("after_register", "alice"),
        ("after_failed_login", "alice"),
        ("before_login", "alice", "password"), ("after_login", "alice", "cookie", True, "password"),
        ("before_login", "alice", "password"), ("after_login", "alice", "token", True, "password"),
        ("after_password_change", "user"), ("after_logout", True),
        ("before_login", "alice", "password"), ("after_login", "alice", "token", True, "password"),
        ("after_account_deleted", True),
    ]
    assert "the after_login hook failed" in caplog.text and "the after_register hook failed" in caplog.text


async def test_a_before_hook_refuses_with_the_apps_code(served: tuple[Recorder, httpx.AsyncClient]) -> None:
    _, client = served
    refused = await client.post("/api/users", json={"username": "spammer", "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "invite_only" and refused.json()["detail"] == "sign-up is by invitation"
    assert (await client.post("/api/session", json={"username": "spammer", "password": PASSWORD})).status_code == 401


async def test_a_before_hook_that_crashes_refuses(
    served: tuple[Recorder, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = served
    assert (await client.post("/api/users", json={"username": "crashes", "password": PASSWORD})).status_code == 201
    for path in ("/api/session", "/api/token"):
        refused = await client.post(path, json={"username": "crashes", "password": PASSWORD})
        assert refused.status_code == 403 and refused.json()["code"] == "refused", refused.text
        assert "a bug in the app's check" not in refused.text
    assert "the before_login hook failed" in caplog.text
    assert "passgate=" not in refused.headers.get("set-cookie", "")  # no login was opened
