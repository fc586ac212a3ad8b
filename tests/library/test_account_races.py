"""A login whose password was checked just before the account changed does not outlive the change.

A login checks the password, then writes its record; a password change, a reset or a deletion
writes the account, then lists the user's logins and revokes them.  A login written after that
list would survive it.  These tests run that interleaving step by step through the public API
(the password checked, the account changed, the login opened) and require the login to be
refused and to leave no record; a concurrent one, against ``passgate serve``, is in
``tests/e2e/test_accounts.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from passgate import AccountDisabled, InvalidCredentials, Passgate, Settings, User
from passgate.errors import TokenInvalid

FAST: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1}
PASSWORD, NEW = "correct horse", "battery staple"
IP = "192.0.2.7"


def request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/api/session", "headers": [], "query_string": b"",
                    "client": (IP, 40000), "server": ("127.0.0.1", 8000), "scheme": "http"})


@pytest.fixture
async def auth(tmp_path: Path) -> AsyncIterator[Passgate]:
    gate = Passgate.from_settings(Settings(data_dir=tmp_path, store="memory://", **FAST))
    async with gate.lifespan():
        await gate.register("alice", PASSWORD)
        yield gate


async def checked(auth: Passgate) -> User:
    """Alice as a login sees her once her password has passed."""
    return await auth.authenticate(request(), "alice", PASSWORD)


async def test_a_session_checked_before_a_password_change_is_refused(auth: Passgate) -> None:
    user = await checked(auth)
    await auth.deployment.accounts.change_password(user.id, PASSWORD, NEW, keep=None, ip=IP)
    with pytest.raises(InvalidCredentials):
        await auth.start_session(request(), user)
    assert await auth.deployment.logins.list(user.id) == []


async def test_a_token_login_checked_before_an_admin_reset_is_refused(auth: Passgate) -> None:
    user = await checked(auth)
    await auth.deployment.accounts.reset_password("alice", NEW)
    with pytest.raises(InvalidCredentials):
        await auth.start_tokens(request(), user)
    assert await auth.deployment.logins.list(user.id) == []


async def test_a_login_checked_before_the_account_was_deleted_is_refused(auth: Passgate) -> None:
    user = await checked(auth)
    await auth.deployment.accounts.delete(user)
    for start in (auth.start_session, auth.start_tokens):
        with pytest.raises(InvalidCredentials):
            await start(request(), user)
    assert await auth.deployment.logins.list(user.id) == []


async def test_a_token_login_of_a_user_gone_from_the_database_refreshes_no_more(auth: Passgate) -> None:
    """However the user went (an application deleting its own row, a revocation that failed halfway),
    a refresh re-reads the account: a login of no user ends."""
    user = await checked(auth)
    pair = await auth.start_tokens(request(), user)
    assert await auth.users.delete(user.id)
    with pytest.raises(TokenInvalid):
        await auth.refresh(pair.refresh_token)
    assert await auth.deployment.logins.list(user.id) == []


async def test_a_login_opened_after_a_rehash_of_the_same_password_stands(tmp_path: Path) -> None:
    """A new hash of the same password (stronger parameters) is not a new password."""
    settings = Settings(data_dir=tmp_path, store="memory://", **FAST)
    async with (gate := Passgate.from_settings(settings)).lifespan():
        await gate.register("alice", PASSWORD)
    stronger = Settings(data_dir=tmp_path, store="memory://", **(FAST | {"password_time_cost": 2}))
    async with (gate := Passgate.from_settings(stronger)).lifespan():
        user = await gate.authenticate(request(), "alice", PASSWORD)  # rehashed here
        caller, _ = await gate.start_session(request(), user)
        assert [login.id for login in await gate.deployment.logins.list(user.id)] == [caller.login.id]


async def test_a_login_checked_before_the_account_was_disabled_is_refused(auth: Passgate) -> None:
    user = await checked(auth)
    assert await auth.disable_user("alice") == 0
    with pytest.raises(InvalidCredentials):
        await auth.start_tokens(request(), user)
    with pytest.raises(AccountDisabled):
        await checked(auth)
    await auth.enable_user("alice")
    caller, _ = await auth.start_session(request(), await checked(auth))
    assert caller.username == "alice"


async def test_a_token_login_of_a_disabled_account_refreshes_no_more(auth: Passgate) -> None:
    """Even had the revocation of its logins been lost, a disabled account's refresh is refused."""
    user = await checked(auth)
    pair = await auth.start_tokens(request(), user)
    await auth.deployment.accounts.states.set_disabled(user.id, True)  # marked, its logins not revoked
    with pytest.raises(TokenInvalid):
        await auth.refresh(pair.refresh_token)
