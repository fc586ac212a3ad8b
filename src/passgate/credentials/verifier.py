"""From a credential to its live login, as fast as this node can vouch for it.

The verifier owns the node's two recognition caches and the outage policy:

* access tokens whose signature and claims checked out, recognised again by one SHA-256;
* session cookies whose secret matched their login's digest, recognised the same way, while the
  cached login still holds that digest (a password change gives the login a new secret);
* and, in front of both, the header values that carried such a credential (the whole
  ``Authorization`` or ``Cookie`` value), each with the very login record it led to:
  while the login cache still holds that record and trusts it (the same object: no field of it
  changed, no revocation came, no re-read replaced it) and the credential has not expired (nor a
  cookie's idle expiry come due), the request is settled by two dictionary lookups
  (:meth:`seen`).

The ``*_now`` methods answer without an await when the caches and the login cache
(:meth:`LoginRepository.cached`) settle the question, and None when they cannot; the async
methods then take the long way.  A key rotation clears the token cache (:meth:`keys_changed`).

A token bound to a client's key (``cnf.jkt``, DPoP) is never accepted as a bearer token:
:meth:`dpop` takes it with a proof by that key, checked on every request (the token's own
verification is cached like any other's), its ``jti`` spent in the store.  While the store is
down, ``--outage grace`` accepts a proof that this node has not seen before (a replay on another
node then goes unnoticed until the store is back); ``closed`` answers 503.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from passgate.credentials.cookies import CookieLogins
from passgate.credentials.dpop import ProofVerifier
from passgate.credentials.logins import LoginRepository
from passgate.credentials.records import Login
from passgate.credentials.signing import Signing
from passgate.credentials.tokens import AccessClaims, VerifiedTokenCache
from passgate.errors import InvalidDpopProof, SessionRevoked, StoreUnavailable

Outage = Literal["grace", "closed"]

#: Header values kept by :class:`SeenHeaders`, the oldest dropped first.
SEEN_ENTRIES = 10_000


class SeenHeaders(dict[bytes, tuple[Login, float]]):
    """Header values that carried a credential, each with the login record it led to and the time
    until which it may (a token's ``exp``, a cookie's next idle-expiry touch).  Only an answer of the
    login cache can make an entry count: see :meth:`Verifier.seen`.  A dictionary itself, so that a
    request's look costs no call of ours.

    Unlike the recognition caches it keeps the values themselves: a request is matched by the
    dictionary's own hash and an exact comparison, because a SHA-256 costs ~4 µs amid a request's
    other work (OpenSSL's context set up and torn down), as much as the rest of the check.  An entry
    lives no longer than its credential's trust (a token's expiry, a minute for a cookie) and is dropped
    at the first look that finds it stale; the process that holds these values holds the signing keys.
    """

    __slots__ = ()

    def put(self, raw: bytes, login: Login, until: float) -> None:
        if len(self) >= SEEN_ENTRIES and raw not in self:
            del self[next(iter(self))]
        self[raw] = (login, until)


class Verifier:
    def __init__(
        self, logins: LoginRepository, cookies: CookieLogins, signing: Signing, proofs: ProofVerifier, *,
        outage: Outage = "grace", clock: Callable[[], float] = time.time,
    ) -> None:
        self._logins, self._cookies, self._signing, self.proofs = logins, cookies, signing, proofs
        self.outage = outage
        self.tokens = VerifiedTokenCache(clock=clock)
        self.cookies = VerifiedTokenCache(clock=clock)
        self._seen_tokens, self._seen_cookies = SeenHeaders(), SeenHeaders()
        self._clock = clock
        signing.on_rotation(self.keys_changed)

    def keys_changed(self) -> None:
        """Another key ring took over: every token is checked against it again."""
        self.tokens.clear()
        self._seen_tokens.clear()

    # -- header values seen before -----------------------------------------------------

    def seen(self, is_token: bool, header: bytes) -> Login | None:
        """The login an ``Authorization`` value (``is_token``) or a ``Cookie`` value led to before, if
        that still holds; None: ask :meth:`bearer_now` or :meth:`cookie_now`.

        It holds while the token has not expired (nor a cookie's idle expiry come due for a touch) and
        the login cache answers with the very record the value led to: a revocation, a change of the
        login, or a re-read when its trust ran out (at most a few seconds, :mod:`passgate.credentials.logins`)
        all make the cache answer otherwise, and the value is judged again the long way."""
        seen = self._seen_tokens if is_token else self._seen_cookies
        entry = seen.get(header)
        if entry is None:
            return None
        login, until = entry
        now = self._clock()
        if now < until and self._logins.cached(login.user_id, login.id, now) is login:
            return login
        del seen[header]  # stale: the long way remembers it anew if it still holds
        return None

    # -- cookies ---------------------------------------------------------------------

    def cookie_now(self, cookie: str, header: bytes | None = None) -> Login | None:
        """The cookie's login if the caches vouch for it at once (its secret matched before, the
        login is cached and trusted, and no touch is due); None means ask :meth:`cookie`.  With
        ``header``, the ``Cookie`` value it came in, that value is remembered for :meth:`seen`
        (unless the login is bound to a browser's key: its bound cookie is checked on every request)."""
        known = self.cookies.get(cookie)
        if known is None:
            return None
        now = self._clock()
        login = self._logins.cached(known.sub, known.sid, now)
        if (login is None or login.kind != "cookie" or login.secret_digest != known.secret_digest
                or self._cookies.touch_due(login, now)):
            return None
        if header is not None and not login.jkt:
            self._seen_cookies.put(header, login, self._cookies.touch_at(login))  # its expiry: cached() checks it
        return login

    async def cookie(self, cookie: str) -> Login:
        """The live cookie login, its idle expiry slid forward; SessionRevoked otherwise."""
        login = await self._cookies.find(cookie)
        if login is None:
            known = self.cookies.get(cookie)
            if known is not None:
                self.cookies.discard_sid(known.sid)
            raise SessionRevoked("the session has ended or was never valid")
        self.cookies.put(cookie, AccessClaims(
            sub=login.user_id, sid=login.id, jti="", iat=int(login.created_at), exp=int(login.expires_at),
            secret_digest=login.secret_digest,
        ))
        return await self._cookies.touch(login)

    # -- access tokens ---------------------------------------------------------------

    def bearer_now(self, token: str, header: bytes | None = None) -> Login | None:
        """The token's login if the caches vouch for it at once; None means ask :meth:`bearer`.
        With ``header``, the ``Authorization`` value it came in, that value is remembered for
        :meth:`seen`."""
        claims = self.tokens.get(token)
        if claims is None or claims.jkt is not None:
            return None
        login = self._logins.cached(claims.sub, claims.sid, self._clock())
        if login is None or login.kind != "token":
            return None
        if header is not None:
            self._seen_tokens.put(header, login, claims.exp)
        return login

    async def bearer(self, token: str) -> Login:
        """The live login behind an access token; under ``--outage grace`` the signature alone
        vouches for it while the store is down, unless this node saw it revoked.  A bound token
        (DPoP) is refused: it needs its proof (:meth:`dpop`)."""
        claims = self._claims(token)
        if claims.jkt is not None:
            raise InvalidDpopProof("a DPoP-bound token was sent as a bearer token")
        return await self._login(claims)

    async def dpop(self, token: str, proof: str | None, *, method: str, uri: str) -> tuple[Login, str]:
        """The live login behind a DPoP-bound access token, and its key's thumbprint, when ``proof``
        is a fresh proof by that key for this request (``method`` and ``uri`` as the client sent
        them); InvalidDpopProof otherwise.  The outage policy is :meth:`bearer`'s."""
        claims = self._claims(token)
        if claims.jkt is None:
            raise InvalidDpopProof("a bearer token was sent as a DPoP-bound token")
        if proof is None:
            raise InvalidDpopProof("no DPoP proof came with the DPoP-bound token")
        checked = self.proofs.check(proof, method=method, uri=uri, access_token=token)
        if checked.jkt != claims.jkt:
            raise InvalidDpopProof("the DPoP proof is by another key than the token's")
        try:
            await self.proofs.spend(checked)
        except StoreUnavailable:
            if self.outage == "closed":
                raise
        return await self._login(claims), claims.jkt

    def _claims(self, token: str) -> AccessClaims:
        claims = self.tokens.get(token)
        if claims is None:
            claims = self._signing.codec.verify(self._signing.ring, token)
            self.tokens.put(token, claims)
        return claims

    async def _login(self, claims: AccessClaims) -> Login:
        try:
            login = await self._logins.get(claims.sub, claims.sid)
        except StoreUnavailable as exc:
            return self._during_outage(claims, exc)
        if login is None or login.kind != "token":
            self.tokens.discard_sid(claims.sid)
            raise SessionRevoked("the login has ended")
        return login

    def _during_outage(self, claims: AccessClaims, outage: StoreUnavailable) -> Login:
        if self._logins.known_revoked(claims.sid):
            raise SessionRevoked("the login has ended") from None
        if self.outage == "closed":
            raise outage
        return self._logins.last_known(claims.sub, claims.sid) or _provisional(claims.sub, claims.sid)


def _provisional(user_id: str, login_id: str) -> Login:
    """A stand-in record for a token that outlives a store outage (username filled in by the caller)."""
    return Login(
        id=login_id, user_id=user_id, username="", kind="token", created_at=0, last_seen_at=0,
        expires_at=0, idle_ttl=0, user_agent="", ip="",
    )
