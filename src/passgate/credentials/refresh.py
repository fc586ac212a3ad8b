"""Token logins: a short access token and a refresh token that rotates on every use.

A spent refresh token presented again is a theft (the login is revoked), unless it comes within
the rotation policy's race window: a client racing itself, or retrying an answer it lost.

A login opened (or refreshed) with a DPoP proof is bound to the client's key: the record keeps the
key's thumbprint, every access token carries it (``cnf.jkt``), and only a proof by that key
refreshes it.  An unbound login refreshed with a proof becomes bound from then on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from passgate import audit
from passgate.credentials.logins import LoginRepository
from passgate.credentials.opening import Client, LoginOpener
from passgate.credentials.records import MAX_REFRESH_ENTRIES, Login, RefreshEntry
from passgate.credentials.secrets import Signer, SplitToken, digest, new_secret, same
from passgate.credentials.signing import Signing
from passgate.errors import InvalidDpopProof, RefreshReused, StoreUnavailable, TokenInvalid


@dataclass(frozen=True)
class RotationPolicy:
    #: A spent refresh token presented again within this many seconds of its rotation revokes nothing.
    race_window: float = 10.0


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    #: Bound to the client's key (DPoP): the access token goes as ``Authorization: DPoP``.
    bound: bool = False

    @property
    def token_type(self) -> str:
        return "DPoP" if self.bound else "Bearer"

    def __repr__(self) -> str:
        return (f"TokenPair(expires_in={self.expires_in}, refresh_expires_in={self.refresh_expires_in}, "
                f"bound={self.bound})")


class TokenLogins:
    def __init__(
        self, logins: LoginRepository, opener: LoginOpener, signing: Signing, *, secret: bytes,
        rotation: RotationPolicy = RotationPolicy(), clock: Callable[[], float] = time.time,
    ) -> None:
        self._logins, self._opener, self._signing = logins, opener, signing
        self.rotation = rotation
        self._tags = Signer(secret, "refresh")
        self._clock = clock

    async def open(self, user_id: str, username: str, client: Client, *, jkt: str | None = None) -> TokenPair:
        """A new token login and its first pair; ``jkt`` (a DPoP key's thumbprint) binds them to that key."""
        secret = new_secret()
        login = await self._opener.open(
            user_id, username, "token", client, refresh=(RefreshEntry(digest(secret)),), jkt=jkt or ""
        )
        return self._pair(login, secret)

    async def refresh(self, value: str, *, jkt: str | None = None) -> TokenPair:
        """Spend a refresh token for a new pair; a spent one replayed late revokes the whole login.

        ``jkt``: the thumbprint of the key whose DPoP proof came with the request.  A bound login
        needs its own key (InvalidDpopProof otherwise, and nothing is spent); an unbound one is
        bound to the key from now on."""
        token, issued_here = self._parse(value)
        for _ in range(5):
            login = await self._logins.get(token.user_id, token.login_id, fresh=True)
            if login is None or login.kind != "token":
                raise TokenInvalid("the refresh token has expired or was revoked")
            if login.jkt and login.jkt != jkt:
                raise InvalidDpopProof("the refresh token is bound to another key", token_request=True)
            secret = new_secret()
            try:
                after = self._rotate(login, digest(token.secret), digest(secret), issued_here=issued_here)
                after = replace(after, jkt=login.jkt or jkt or "")
            except RefreshReused:
                await self._logins.revoke(login.user_id, [login.id])
                audit.event("refresh_reused", user_id=login.user_id)
                raise
            if await self._logins.update(login, after):
                return self._pair(after, secret)
        raise StoreUnavailable("the login changed too often to refresh; retry")

    def _pair(self, login: Login, secret: str) -> TokenPair:
        now = self._clock()
        access, exp = self._signing.codec.issue(
            self._signing.ring, sub=login.user_id, sid=login.id, jkt=login.jkt or None
        )
        refresh = str(SplitToken(login.user_id, login.id, secret))
        refresh += "." + self._tags.sign(refresh)
        return TokenPair(access, round(exp - now), refresh, round(login.ends_at - now), bound=login.bound)

    def _parse(self, value: str) -> tuple[SplitToken, bool]:
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
        return token, self._tags.check(body, tag)

    def _rotate(self, login: Login, presented: bytes, fresh: bytes, *, issued_here: bool) -> Login:
        now, window = self._clock(), self.rotation.race_window
        entry = next((e for e in login.refresh if same(e.digest, presented)), None)
        if entry is None:
            # Issued for this login and no longer held: spent before the tokens the record holds.
            # Unless the login rotated within the race window (a token login's last_seen_at is its
            # last rotation), it is a replay.
            if issued_here and now - login.last_seen_at > window:
                raise RefreshReused("a spent refresh token was presented again; the login is revoked")
            raise TokenInvalid("unknown refresh token")
        if entry.spent_at and now - entry.spent_at > window:
            raise RefreshReused("a spent refresh token was presented again; the login is revoked")
        entries = [
            RefreshEntry(e.digest, now) if e is entry and not e.spent_at else e for e in login.refresh
        ] + [RefreshEntry(fresh)]
        while len(entries) > MAX_REFRESH_ENTRIES:
            spent = next((e for e in entries if e.spent_at), entries[0])
            entries.remove(spent)
        return replace(login, refresh=tuple(entries), last_seen_at=now)
