"""Opening a login: its lifetimes by kind, who opened it, the cap on a user's live logins, and the
account standing as its password was checked.

A login checks the password, then writes its record; a password change, a reset or a deletion
writes the account, then lists the user's logins and revokes them.  So that a login written after
that list does not survive it, the opener reads the account again once the record is written: if
its password hash is no longer the one the login checked (or the user is gone), the new login is
revoked and refused.  Either the change's list saw the record, or this read sees the change.
Disabling an account works the same way: the account is marked, then its logins are revoked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from passgate import audit
from passgate.credentials.logins import LoginRepository
from passgate.credentials.records import Kind, Login, RefreshEntry, compact_user_agent
from passgate.errors import InvalidCredentials
from passgate.identity.states import AccountStates
from passgate.identity.users import UserRepository
from passgate.ids import new_id


@dataclass(frozen=True)
class LoginPolicy:
    """How long logins live (seconds), and how many one user may hold (0: no cap)."""

    session_idle: float = 30 * 60
    session_absolute: float = 12 * 3600
    refresh_idle: float = 14 * 86400
    refresh_absolute: float = 30 * 86400
    max_logins: int = 0

    def lifetimes(self, kind: Kind) -> tuple[float, float]:
        """The idle and absolute lifetimes of a login of this kind."""
        if kind == "cookie":
            return self.session_idle, self.session_absolute
        return self.refresh_idle, self.refresh_absolute


@dataclass(frozen=True)
class Client:
    """Who is logging in, as the device list shows it."""

    user_agent: str = ""
    ip: str = ""
    #: How the user proved who they are (the device list shows it): ``password``, ``password+totp``, ...
    method: str = "password"


class LoginOpener:
    """Writes new login records; past ``max_logins``, the user's oldest logins are revoked.

    ``users``: where the account is read again after the record is written (see the module's
    docstring); without it (the credentials part on its own) nothing is re-read."""

    def __init__(self, logins: LoginRepository, policy: LoginPolicy, *, users: UserRepository | None = None,
                 states: AccountStates | None = None, clock: Callable[[], float] = time.time) -> None:
        self._logins, self.policy, self._users, self._states, self._clock = logins, policy, users, states, clock

    async def open(
        self, user_id: str, username: str, kind: Kind, client: Client, *,
        secret_digest: bytes = b"", refresh: tuple[RefreshEntry, ...] = (), jkt: str = "",
        password_hash: str | None = None,
    ) -> Login:
        """A new login; ``password_hash``: the hash its password was checked against, which the
        account must still have once the record is written (InvalidCredentials otherwise)."""
        now = self._clock()
        idle, absolute = self.policy.lifetimes(kind)
        login = Login(
            id=new_id(), user_id=user_id, username=username, kind=kind, created_at=now, last_seen_at=now,
            expires_at=now + absolute, idle_ttl=idle, user_agent=compact_user_agent(client.user_agent), ip=client.ip,
            secret_digest=secret_digest, refresh=refresh, jkt=jkt, method=client.method,
        )
        await self._logins.add(login)
        if password_hash is not None and not await self.stands(user_id, password_hash):
            await self._logins.revoke(user_id, [login.id])
            raise InvalidCredentials("the account changed while logging in")
        await self._enforce_cap(user_id, login.id)
        return login

    async def stands(self, user_id: str, password_hash: str | None = None) -> bool:
        """Whether the user still exists (with this password hash, when given) and is not disabled."""
        if self._users is None:
            return True
        user = await self._users.get(user_id)
        if user is None or (password_hash is not None and user.password_hash != password_hash):
            return False
        return self._states is None or not await self._states.disabled(user_id)

    async def _enforce_cap(self, user_id: str, newest: str) -> None:
        cap = self.policy.max_logins
        if not cap:
            return
        live = [login for login in await self._logins.list(user_id) if login.id != newest]
        excess = live[: max(0, len(live) + 1 - cap)]
        if excess:
            count = await self._logins.revoke(user_id, [login.id for login in excess])
            audit.event("login_evicted", user_id=user_id, revoked=count)
