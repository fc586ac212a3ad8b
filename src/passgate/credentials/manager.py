"""The login flows: open a login behind a cookie or a token pair, authenticate, refresh, revoke.

Both kinds of credential point at one login record, so logout, "log out everywhere" and the
device list are one mechanism for cookies and tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from passgate import audit
from passgate.credentials.keys import KeyRing
from passgate.credentials.logins import LoginRepository
from passgate.credentials.records import MAX_REFRESH_ENTRIES, Kind, Login, RefreshEntry, compact_user_agent
from passgate.credentials.secrets import Signer, SplitToken, digest, new_id, new_secret, same
from passgate.credentials.tokens import AccessClaims, AccessTokenCodec, VerifiedTokenCache
from passgate.errors import AuthError, RefreshReused, SessionRevoked, StoreUnavailable, TokenInvalid

#: A login's last-seen time is written at most this often (as a share of its idle timeout).
TOUCH_SHARE = 0.1
TOUCH_MAX = 60.0


@dataclass(frozen=True)
class LoginPolicy:
    session_idle: float = 30 * 60
    session_absolute: float = 12 * 3600
    access_ttl: float = 10 * 60
    refresh_idle: float = 14 * 86400
    refresh_absolute: float = 30 * 86400
    max_logins: int = 0


#: A spent refresh token presented again within this many seconds of its rotation is a client
#: racing itself (or retrying an answer it lost): it gets a new pair and revokes nothing.
RACE_WINDOW = 10.0


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    def __repr__(self) -> str:
        return f"TokenPair(expires_in={self.expires_in}, refresh_expires_in={self.refresh_expires_in})"


@dataclass(frozen=True)
class Client:
    """Who is logging in, as the device list shows it."""

    user_agent: str = ""
    ip: str = ""


class LoginManager:
    def __init__(
        self, logins: LoginRepository, *, policy: LoginPolicy, secret: bytes, codec: AccessTokenCodec,
        ring: Callable[[], KeyRing], outage: Literal["grace", "closed"] = "grace",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.logins = logins
        self.policy = policy
        self.codec = codec
        self.ring = ring
        self.outage = outage
        #: Access tokens whose signature and claims checked out.
        self.verified = VerifiedTokenCache(clock=clock)
        #: Session cookies whose secret matched their login's digest (a cookie login's secret never
        #: changes): recognised again by one SHA-256 of the whole cookie, like the tokens above.
        self.verified_cookies = VerifiedTokenCache(clock=clock)
        self._clock = clock
        self._csrf = Signer(secret, "csrf")
        self._refresh_tags = Signer(secret, "refresh")

    # -- opening and closing ---------------------------------------------------------

    async def _open(self, user_id: str, username: str, kind: Kind, client: Client, **secret: object) -> Login:
        now = self._clock()
        idle, absolute = (
            (self.policy.session_idle, self.policy.session_absolute) if kind == "cookie"
            else (self.policy.refresh_idle, self.policy.refresh_absolute)
        )
        login = Login(
            id=new_id(), user_id=user_id, username=username, kind=kind, created_at=now, last_seen_at=now,
            expires_at=now + absolute, idle_ttl=idle, user_agent=compact_user_agent(client.user_agent), ip=client.ip,
            **secret,  # type: ignore[arg-type]
        )
        await self.logins.add(login)
        await self._enforce_cap(user_id, login.id)
        return login

    async def _enforce_cap(self, user_id: str, newest: str) -> None:
        cap = self.policy.max_logins
        if not cap:
            return
        live = [login for login in await self.logins.list(user_id) if login.id != newest]
        excess = live[: max(0, len(live) + 1 - cap)]
        if excess:
            count = await self.logins.revoke(user_id, [login.id for login in excess])
            audit.event("login_evicted", user_id=user_id, revoked=count)

    async def open_session(self, user_id: str, username: str, client: Client, *, replacing: str | None) -> str:
        """A new cookie login; the login of the cookie the request carried (if any) ends."""
        if replacing is not None:
            old = await self._cookie_login(replacing)
            if old is not None:
                await self.logins.revoke(old.user_id, [old.id])
        secret = new_secret()
        login = await self._open(user_id, username, "cookie", client, secret_digest=digest(secret))
        cookie = str(SplitToken(user_id, login.id, secret))
        self._remember_cookie(cookie, login)
        return cookie

    def _remember_cookie(self, cookie: str, login: Login) -> None:
        self.verified_cookies.put(cookie, AccessClaims(
            sub=login.user_id, sid=login.id, jti="", iat=int(login.created_at), exp=int(login.expires_at)
        ))

    async def revoke(self, login: Login) -> None:
        await self.logins.revoke(login.user_id, [login.id])

    async def revoke_all(self, user_id: str, *, keep: str | None = None) -> int:
        return await self.logins.revoke_all(user_id, keep=keep)

    # -- authenticating --------------------------------------------------------------

    async def _cookie_login(self, value: str) -> Login | None:
        token = SplitToken.parse(value)
        if token is None:
            return None
        login = await self.logins.get(token.user_id, token.login_id)
        if login is None or login.kind != "cookie" or not same(login.secret_digest, digest(token.secret)):
            return None
        return login

    async def session(self, cookie: str) -> Login:
        """The live cookie login, its idle expiry slid forward; AuthError otherwise."""
        login = await self._cookie_login(cookie)
        if login is None:
            known = self.verified_cookies.get(cookie)
            if known is not None:
                self.verified_cookies.discard_sid(known.sid)
            raise SessionRevoked("the session has ended or was never valid")
        self._remember_cookie(cookie, login)
        return await self.touch(login)

    def session_now(self, cookie: str) -> Login | None:
        """The cookie's login if this node can vouch for it at once: the cookie matched its login
        before, the login is cached and trusted, and no touch is due.

        None means nothing either way: ask :meth:`session`.
        """
        known = self.verified_cookies.get(cookie)
        if known is None:
            return None
        now = self._clock()
        login = self.logins.cached(known.sub, known.sid, now)
        if login is None or login.kind != "cookie" or self._touch_due(login, now):
            return None
        return login

    def _touch_due(self, login: Login, now: float) -> bool:
        return now - login.last_seen_at >= min(login.idle_ttl * TOUCH_SHARE, TOUCH_MAX)

    async def touch(self, login: Login) -> Login:
        """Slide the idle expiry, writing to the store only once in a while."""
        now = self._clock()
        if not self._touch_due(login, now):
            return login
        newer = login.seen(now)
        if await self.logins.update(login, newer):
            return newer
        current = await self.logins.get(login.user_id, login.id, fresh=True)
        if current is None:
            raise SessionRevoked("the session has ended")
        return current

    def csrf_token(self, login: Login) -> str:
        return self._csrf.sign(login.id)

    def check_csrf(self, login: Login, token: str | None) -> bool:
        return token is not None and self._csrf.check(login.id, token)

    async def login_of(self, user_id: str, login_id: str) -> Login:
        login = await self.logins.get(user_id, login_id)
        if login is None:
            raise AuthError("not logged in")
        return login

    # -- tokens ----------------------------------------------------------------------

    def _pair(self, login: Login, secret: str) -> TokenPair:
        now = self._clock()
        access, exp = self.codec.issue(self.ring(), sub=login.user_id, sid=login.id)
        refresh = str(SplitToken(login.user_id, login.id, secret))
        refresh += "." + self._refresh_tags.sign(refresh)
        return TokenPair(access, round(exp - now), refresh, round(login.ends_at - now))

    def _parse_refresh(self, value: str) -> tuple[SplitToken, bool]:
        """The refresh token, and whether its tag says this deployment issued it.

        The record keeps only the last few refresh tokens of a login; the tag (an HMAC under the
        deployment secret) lets a spent token it no longer holds still be recognised as this
        login's, while a guessed one, even with the login's public ids, revokes nothing.
        """
        untagged = SplitToken.parse(value)  # issued by passgate 0.1.0, or a guess
        if untagged is not None:
            return untagged, False
        body, _, tag = value.rpartition(".")
        token = SplitToken.parse(body)
        if token is None:
            raise TokenInvalid("malformed refresh token")
        return token, self._refresh_tags.check(body, tag)

    async def open_tokens(self, user_id: str, username: str, client: Client) -> TokenPair:
        """A new token login: a short access token and a rotating refresh token."""
        secret = new_secret()
        login = await self._open(user_id, username, "token", client, refresh=(RefreshEntry(digest(secret)),))
        return self._pair(login, secret)

    async def refresh(self, value: str) -> TokenPair:
        """Spend a refresh token for a new pair; a spent one replayed late revokes the whole login."""
        token, issued_here = self._parse_refresh(value)
        for _ in range(5):
            login = await self.logins.get(token.user_id, token.login_id, fresh=True)
            if login is None or login.kind != "token":
                raise TokenInvalid("the refresh token has expired or was revoked")
            secret = new_secret()
            try:
                after = self._rotate(login, digest(token.secret), digest(secret), issued_here=issued_here)
            except RefreshReused:
                await self.logins.revoke(login.user_id, [login.id])
                audit.event("refresh_reused", user_id=login.user_id)
                raise
            if await self.logins.update(login, after):
                return self._pair(after, secret)
        raise StoreUnavailable("the login changed too often to refresh; retry")

    def _rotate(self, login: Login, presented: bytes, fresh: bytes, *, issued_here: bool) -> Login:
        now = self._clock()
        entry = next((e for e in login.refresh if same(e.digest, presented)), None)
        if entry is None:
            # Issued for this login and no longer held: spent before the tokens the record holds.
            # Unless the login rotated within the race window (a token login's last_seen_at is its
            # last rotation), it is a replay.
            if issued_here and now - login.last_seen_at > RACE_WINDOW:
                raise RefreshReused("a spent refresh token was presented again; the login is revoked")
            raise TokenInvalid("unknown refresh token")
        if entry.spent_at and now - entry.spent_at > RACE_WINDOW:
            raise RefreshReused("a spent refresh token was presented again; the login is revoked")
        entries = [
            RefreshEntry(e.digest, now) if e is entry and not e.spent_at else e for e in login.refresh
        ] + [RefreshEntry(fresh)]
        while len(entries) > MAX_REFRESH_ENTRIES:
            spent = next((e for e in entries if e.spent_at), entries[0])
            entries.remove(spent)
        return replace(login, refresh=tuple(entries), last_seen_at=now)

    def bearer_now(self, token: str) -> Login | None:
        """The token's login if this node can vouch for it at once (token verified before, login
        cached and trusted); None means nothing either way: ask :meth:`bearer`."""
        claims = self.verified.get(token)
        login = self.logins.cached(claims.sub, claims.sid, self._clock()) if claims is not None else None
        return login if login is not None and login.kind == "token" else None

    async def bearer(self, token: str) -> Login:
        """The live login behind an access token; under ``--outage grace`` the signature alone
        vouches for it while the store is down, unless this node saw it revoked."""
        claims = self.verified.get(token)
        if claims is None:
            claims = self.codec.verify(self.ring(), token)
            self.verified.put(token, claims)
        try:
            login = await self.logins.get(claims.sub, claims.sid)
        except StoreUnavailable:
            if self.logins.known_revoked(claims.sid):
                raise SessionRevoked("the login has ended") from None
            if self.outage == "closed":
                raise
            return self.logins.last_known(claims.sub, claims.sid) or _provisional(claims.sub, claims.sid)
        if login is None or login.kind != "token":
            self.verified.discard_sid(claims.sid)
            raise SessionRevoked("the login has ended")
        return login


def _provisional(user_id: str, login_id: str) -> Login:
    """A stand-in record for a token that outlives a store outage (username filled in by the caller)."""
    return Login(
        id=login_id, user_id=user_id, username="", kind="token", created_at=0, last_seen_at=0,
        expires_at=0, idle_ttl=0, user_agent="", ip="",
    )
