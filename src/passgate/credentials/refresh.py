"""Token logins: a short access token and a refresh token that rotates on every use.

A spent refresh token presented again is a theft (the login is revoked), unless it comes within
the rotation policy's race window: a client racing itself, or retrying an answer it lost.  Such a
replay gets the very pair the token's first use got (the same access token, the same successor),
so a login stays one chain however its client races: the rotation keeps that answer in the login
record, beside the spent token's digest, sealed (AES-GCM) under a key derived from the deployment
secret and the spent token's own secret, which the store never holds.  The next rotation after
the window drops it.

A login opened (or refreshed) with a DPoP proof is bound to the client's key: the record keeps the
key's thumbprint, every access token carries it (``cnf.jkt``), and only a proof by that key
refreshes it.  An unbound login refreshed with a proof becomes bound from then on.
"""

from __future__ import annotations

import base64
import os
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
    #: The login's public id (as ``/api/sessions`` lists it).
    login_id: str = ""

    @property
    def token_type(self) -> str:
        return "DPoP" if self.bound else "Bearer"

    def __repr__(self) -> str:
        return (f"TokenPair(expires_in={self.expires_in}, refresh_expires_in={self.refresh_expires_in}, "
                f"bound={self.bound})")


@dataclass(frozen=True)
class _Answer:
    secret: str
    access_token: str
    exp: int


class _AnswerSeal:
    """Seals a rotation's answer under a key only the spent token's holder and the deployment share."""

    _HEAD = struct.Struct("<Q32s")

    def __init__(self, secret: bytes) -> None:
        self._salt = Signer(secret, "refresh-answer").sign("salt").encode()

    def __repr__(self) -> str:
        return "_AnswerSeal(...)"

    def _aead(self, spent_secret: str) -> AESGCM:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=self._salt, info=b"passgate:refresh-answer")
        return AESGCM(hkdf.derive(spent_secret.encode()))

    def seal(self, spent_secret: str, login_id: str, answer: _Answer) -> bytes:
        raw_secret = base64.urlsafe_b64decode(answer.secret + "=")
        plain = self._HEAD.pack(answer.exp, raw_secret) + answer.access_token.encode()
        nonce = os.urandom(12)
        return nonce + self._aead(spent_secret).encrypt(nonce, plain, login_id.encode())

    def open(self, spent_secret: str, login_id: str, sealed: bytes) -> _Answer | None:
        try:
            plain = self._aead(spent_secret).decrypt(sealed[:12], sealed[12:], login_id.encode())
        except (InvalidTag, ValueError):
            return None
        exp, raw_secret = self._HEAD.unpack_from(plain)
        secret = base64.urlsafe_b64encode(raw_secret).decode().rstrip("=")
        return _Answer(secret, plain[self._HEAD.size :].decode(), exp)


class TokenLogins:
    def __init__(
        self, logins: LoginRepository, opener: LoginOpener, signing: Signing, *, secret: bytes,
        rotation: RotationPolicy = RotationPolicy(), clock: Callable[[], float] = time.time,
        roles: Callable[[str], Awaitable[tuple[str, ...]]] | None = None,
    ) -> None:
        """``roles``: where a user's roles are read for the access tokens' ``roles`` claim; None: no claim."""
        self._logins, self._opener, self._signing = logins, opener, signing
        self._roles = roles
        self.rotation = rotation
        self._tags = Signer(secret, "refresh")
        self._seal = _AnswerSeal(secret)
        self._clock = clock

    async def open(self, user_id: str, username: str, client: Client, *, jkt: str | None = None,
                   password_hash: str | None = None) -> TokenPair:
        """A new token login and its first pair; ``jkt`` (a DPoP key's thumbprint) binds them to that
        key.  ``password_hash``: see :meth:`LoginOpener.open`."""
        secret = new_secret()
        login = await self._opener.open(
            user_id, username, "token", client, refresh=(RefreshEntry(digest(secret)),), jkt=jkt or "",
            password_hash=password_hash,
        )
        return self._pair(login, self._issue(login, secret, await self._roles_of(user_id)))

    async def refresh(self, value: str, *, jkt: str | None = None) -> TokenPair:
        """Spend a refresh token for a new pair; replayed within the race window, the same pair
        again; a spent one replayed later revokes the whole login.

        ``jkt``: the thumbprint of the key whose DPoP proof came with the request.  A bound login
        needs its own key (InvalidDpopProof otherwise, and nothing is spent); an unbound one is
        bound to the key from now on.  A login whose user is gone ends (TokenInvalid)."""
        token, issued_here = self._parse(value)
        presented = digest(token.secret)
        for _ in range(5):
            login = await self._logins.get(token.user_id, token.login_id, fresh=True)
            if login is None or login.kind != "token":
                raise TokenInvalid("the refresh token has expired or was revoked")
            if login.jkt and login.jkt != jkt:
                raise InvalidDpopProof("the refresh token is bound to another key", token_request=True)
            if not await self._opener.stands(login.user_id):
                await self._logins.revoke(login.user_id, [login.id])
                raise TokenInvalid("the refresh token has expired or was revoked")
            try:
                entry = self._entry(login, presented, issued_here=issued_here)
            except RefreshReused:
                await self._logins.revoke(login.user_id, [login.id])
                audit.event("refresh_reused", user_id=login.user_id)
                raise
            if entry.spent_at:
                return self._replay(login, entry, token)
            login_bound = replace(login, jkt=login.jkt or jkt or "")
            answer = self._issue(login_bound, new_secret(), await self._roles_of(login.user_id))
            sealed = self._seal.seal(token.secret, login.id, answer)
            after = self._rotate(login_bound, entry, digest(answer.secret), sealed)
            if await self._logins.update(login, after):
                return self._pair(after, answer)
        raise StoreUnavailable("the login changed too often to refresh; retry")

    def _replay(self, login: Login, entry: RefreshEntry, token: SplitToken) -> TokenPair:
        """The pair the token's first use got, for a replay within the race window."""
        answer = self._seal.open(token.secret, login.id, entry.answer) if entry.answer else None
        if answer is None:  # a record from before kept answers, or not this deployment's
            raise TokenInvalid("a spent refresh token without its kept answer")
        return self._pair(login, answer)

    async def _roles_of(self, user_id: str) -> tuple[str, ...] | None:
        return None if self._roles is None else await self._roles(user_id)

    def _issue(self, login: Login, secret: str, roles: tuple[str, ...] | None) -> _Answer:
        access, exp = self._signing.codec.issue(
            self._signing.ring, sub=login.user_id, sid=login.id, jkt=login.jkt or None, roles=roles
        )
        return _Answer(secret, access, exp)

    def _pair(self, login: Login, answer: _Answer) -> TokenPair:
        now = self._clock()
        refresh = str(SplitToken(login.user_id, login.id, answer.secret))
        refresh += "." + self._tags.sign(refresh)
        return TokenPair(answer.access_token, max(0, round(answer.exp - now)), refresh, round(login.ends_at - now),
                         bound=login.bound, login_id=login.id)

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

    def _entry(self, login: Login, presented: bytes, *, issued_here: bool) -> RefreshEntry:
        """The login's entry for the presented token: live, or spent within the race window."""
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
        return entry

    def _rotate(self, login: Login, entry: RefreshEntry, fresh: bytes, sealed: bytes) -> Login:
        """The login with ``entry`` spent (its answer kept), a new live token, and every answer
        older than the race window dropped."""
        now, window = self._clock(), self.rotation.race_window
        entries = [
            RefreshEntry(e.digest, now, sealed) if e is entry
            else RefreshEntry(e.digest, e.spent_at) if e.answer and now - e.spent_at > window else e
            for e in login.refresh
        ] + [RefreshEntry(fresh)]
        while len(entries) > MAX_REFRESH_ENTRIES:
            spent = next((e for e in entries if e.spent_at), entries[0])
            entries.remove(spent)
        return replace(login, refresh=tuple(entries), last_seen_at=now)
