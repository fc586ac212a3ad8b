"""Cookie logins: opened at login, found again by the cookie, their idle expiry slid on use.

A session cookie is a split token (``USER.LOGIN.SECRET``): the ids find the record, which keeps
only a digest of the secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from passgate.credentials.logins import LoginRepository
from passgate.credentials.opening import Client, LoginOpener
from passgate.credentials.records import Login
from passgate.credentials.secrets import SplitToken, digest, new_secret, same
from passgate.errors import SessionRevoked

#: A login's last-seen time is written at most this often (as a share of its idle timeout).
TOUCH_SHARE = 0.1
TOUCH_MAX = 60.0


class CookieLogins:
    def __init__(self, logins: LoginRepository, opener: LoginOpener, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._logins, self._opener, self._clock = logins, opener, clock

    async def open(self, user_id: str, username: str, client: Client, *, replacing: str | None,
                   password_hash: str | None = None) -> str:
        """A new cookie login, as the cookie's value; the login of the cookie the request carried
        (``replacing``, if any) ends: a login never adopts or keeps an earlier session.
        ``password_hash``: see :meth:`LoginOpener.open`."""
        if replacing is not None:
            old = await self.find(replacing)
            if old is not None:
                await self._logins.revoke(old.user_id, [old.id])
        secret = new_secret()
        login = await self._opener.open(user_id, username, "cookie", client, secret_digest=digest(secret),
                                        password_hash=password_hash)
        return str(SplitToken(user_id, login.id, secret))

    async def find(self, cookie: str) -> Login | None:
        """The live cookie login whose secret this cookie holds, or None."""
        token = SplitToken.parse(cookie)
        if token is None:
            return None
        login = await self._logins.get(token.user_id, token.login_id)
        if login is None or login.kind != "cookie" or not same(login.secret_digest, digest(token.secret)):
            return None
        return login

    async def renew(self, login: Login) -> str:
        """The same login under a new secret, as the new cookie's value: the old cookie stops
        working on every node within the revocation bound (a new session id when the password
        changes, ASVS 7.2.4).  SessionRevoked if the login ended meanwhile."""
        secret = new_secret()
        current = await self._logins.get(login.user_id, login.id, fresh=True)
        if current is None or current.kind != "cookie":
            raise SessionRevoked("the session has ended")
        if not await self._logins.update(current, replace(current, secret_digest=digest(secret)), notify=True):
            raise SessionRevoked("the session has ended")
        return str(SplitToken(login.user_id, login.id, secret))

    def touch_due(self, login: Login, now: float) -> bool:
        return now >= self.touch_at(login)

    def touch_at(self, login: Login) -> float:
        """When the login's idle expiry is next slid forward (a store write)."""
        return login.last_seen_at + min(login.idle_ttl * TOUCH_SHARE, TOUCH_MAX)

    async def touch(self, login: Login) -> Login:
        """Slide the idle expiry, writing to the store only once in a while."""
        now = self._clock()
        if not self.touch_due(login, now):
            return login
        newer = login.seen(now)
        if await self._logins.update(login, newer):
            return newer
        current = await self._logins.get(login.user_id, login.id, fresh=True)
        if current is None:
            raise SessionRevoked("the session has ended")
        return current
