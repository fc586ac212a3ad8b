"""Access tokens: compact JWS, ``{"alg","kid","typ":"at+jwt"}`` over ``iss aud sub exp iat jti sid``,
and ``cnf: {"jkt"}`` when the token is bound to a client's key (DPoP, RFC 9449 §6.1).

Verification is two steps, as in joserfc: :meth:`AccessTokenCodec.decode` checks the shape, the
header and the signature (the ring fixes the algorithm; the kid only selects among the ring's own
keys) and returns the claims; :meth:`AccessTokenCodec.validate` then judges the claims against the
injected clock.  Any input whatsoever ends in a result, :class:`~passgate.errors.TokenInvalid` or
:class:`~passgate.errors.TokenExpired`; every TokenInvalid answers alike, its ``reason`` (which check
failed) is for the log, and none carries the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import Algorithm as JwsAlgorithm

from passgate.credentials.keys import KeyRing, SigningKey
from passgate.errors import ConfigError, TokenExpired, TokenInvalid

__all__ = [
    "MAX_TOKEN_BYTES", "THUMBPRINT", "TOKEN_TYPE", "AccessClaims", "AccessTokenCodec", "VerifiedTokenCache",
    "json_object", "split_compact", "unb64url",
]

#: Longer inputs are refused before any parsing.
MAX_TOKEN_BYTES = 4096
TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type)
MAX_LEEWAY = 30.0
_TYPES = frozenset({TOKEN_TYPE, "application/" + TOKEN_TYPE})
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})  # anything else (jwk, jku, x5u, x5c, crit, b64) is refused
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
#: A SHA-256 JWK thumbprint, base64url without padding (RFC 7638).
THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX_KID = 64
_MAX_DATE = 2**53


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    sub: str
    sid: str
    jti: str
    iat: int
    exp: int
    #: passgate never issues one; a token that carries it is not valid before it.
    nbf: int | None = None
    #: The RFC 7638 thumbprint of the key the token is bound to (``cnf.jkt``); None: a bearer token.
    jkt: str | None = None
    #: Kept for a session cookie (see :class:`passgate.credentials.verifier.Verifier`): the digest
    #: of the secret it matched, so that a login renewed under a new secret no longer knows it.
    secret_digest: bytes = b""


class AccessTokenCodec:
    """Issues and verifies access tokens of one deployment (issuer, audience, lifetime)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        access_ttl: float,
        leeway: float = MAX_LEEWAY,
        clock: Callable[[], float] = time.time,
    ):
        if not issuer or not audience:
            raise ConfigError("an access token needs an issuer and an audience")
        if not 1 <= access_ttl < _MAX_DATE:
            raise ConfigError("the access-token lifetime must be at least 1 s")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigError(f"the clock leeway must be between 0 and {MAX_LEEWAY:g} s")
        self.issuer, self.audience, self.access_ttl, self.leeway = issuer, audience, access_ttl, leeway
        self._clock = clock
        jws = jwt.PyJWS()
        self._algorithms = {name: jws.get_algorithm_by_name(name) for name in ("EdDSA", "ES256", "HS256")}

    def issue(self, ring: KeyRing, *, sub: str, sid: str, jkt: str | None = None,
              roles: tuple[str, ...] | None = None) -> tuple[str, int]:
        """A token signed by the ring's current key, and its ``exp``; ``jkt`` binds it to that key;
        ``roles``, when given, go in a ``roles`` claim."""
        if not sub or not sid:
            raise ValueError("sub and sid must be non-empty")
        iat = int(self._clock())
        exp = iat + int(self.access_ttl)
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.audience, "sub": sub, "exp": exp, "iat": iat,
                                  "jti": secrets.token_urlsafe(12), "sid": sid}  # fmt: skip
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        if roles is not None:
            claims["roles"] = list(roles)
        key = ring.current
        headers = {"kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(claims, key.signing_key, algorithm=ring.alg, headers=headers), exp

    def verify(self, ring: KeyRing, token: str) -> AccessClaims:
        """The claims of a genuine, current token; TokenInvalid or TokenExpired otherwise."""
        return self.validate(self.decode(ring, token))

    def decode(self, ring: KeyRing, token: str) -> dict[str, Any]:
        """Step one: shape, header and signature; the claims, not yet judged."""
        header_b64, payload_b64, signature_b64 = split_compact(token)
        key = _select_key(ring, json_object(unb64url(header_b64)))
        signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
        if not _verify(self._algorithms[ring.alg], signing_input, key, unb64url(signature_b64)):
            raise TokenInvalid("bad token signature")
        return json_object(unb64url(payload_b64))

    def validate(self, claims: Mapping[str, Any]) -> AccessClaims:
        """Step two: every claim present, well typed, ours, and current; ``nbf``, which passgate
        never issues, judged too when a token carries it (RFC 7519 §4.1.5)."""
        sub, jti, sid = _text(claims, "sub"), _text(claims, "jti"), _text(claims, "sid")
        iat, exp = _date(claims, "iat"), _date(claims, "exp")
        nbf = _date(claims, "nbf") if "nbf" in claims else None
        jkt = _confirmation(claims["cnf"]) if "cnf" in claims else None
        if _text(claims, "iss") != self.issuer:
            raise TokenInvalid("token from another issuer")
        if not _audience_ok(claims.get("aud"), self.audience):
            raise TokenInvalid("token for another audience")
        if not iat < exp <= iat + self.access_ttl or (nbf is not None and nbf >= exp):
            raise TokenInvalid("token lifetime out of bounds")
        now = self._clock()
        if iat > now + self.leeway:
            raise TokenInvalid("token issued in the future")
        if nbf is not None and nbf > now + self.leeway:
            raise TokenInvalid("token not valid yet")
        if now >= exp + self.leeway:
            raise TokenExpired()
        return AccessClaims(sub=sub, sid=sid, jti=jti, iat=iat, exp=exp, nbf=nbf, jkt=jkt)


def split_compact(token: object) -> list[str]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or not token.isascii():
        raise TokenInvalid("malformed token")
    parts = token.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(part) for part in parts):
        raise TokenInvalid("malformed token")
    return parts


def unb64url(segment: str) -> bytes:
    """Strict base64url: no padding, no stray bits (one token has one spelling)."""
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("malformed token") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode("ascii"):
        raise TokenInvalid("malformed token")
    return data


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_members,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, duplicates, NaN, huge ints, deep nesting
        raise TokenInvalid("malformed token") from None
    if not isinstance(value, dict):
        raise TokenInvalid("malformed token")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member")
    return members


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("non-finite number")
    return number


def _select_key(ring: KeyRing, header: Mapping[str, Any]) -> SigningKey:
    if not header.keys() <= _HEADER_MEMBERS:
        raise TokenInvalid("unsupported token header")
    if header.get("alg") != ring.alg:
        raise TokenInvalid("unexpected token algorithm")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _TYPES:
        raise TokenInvalid("not an access token")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID:
        raise TokenInvalid("bad key id")
    key = ring.keys.get(kid)
    if key is None:
        raise TokenInvalid("unknown signing key")
    return key


def _verify(algorithm: JwsAlgorithm, signing_input: bytes, key: SigningKey, signature: bytes) -> bool:
    try:
        return bool(algorithm.verify(signing_input, key.verifying_key, signature))
    except (jwt.PyJWTError, ValueError, TypeError):
        return False


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise TokenInvalid(f"missing or invalid {name!r} claim")
    return value


def _date(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    if type(value) is not int or not 0 <= value < _MAX_DATE:  # bool and float refused
        raise TokenInvalid(f"missing or invalid {name!r} claim")
    return value


def _confirmation(cnf: object) -> str:
    """The ``jkt`` of a ``cnf`` claim: the one confirmation method passgate issues (RFC 9449 §6.1)."""
    if not isinstance(cnf, dict) or cnf.keys() != {"jkt"}:
        raise TokenInvalid("unsupported 'cnf' claim")
    jkt = cnf["jkt"]
    if not isinstance(jkt, str) or not THUMBPRINT.fullmatch(jkt):
        raise TokenInvalid("invalid 'cnf' claim")
    return jkt


def _audience_ok(aud: object, ours: str) -> bool:
    if isinstance(aud, str):
        return aud == ours
    return isinstance(aud, list) and bool(aud) and all(isinstance(a, str) for a in aud) and ours in aud


class VerifiedTokenCache:
    """Verified tokens, so the hot path skips the signature: one SHA-256 and one dict lookup.

    Bounded (least recently used leaves first), each entry good until its token's ``exp`` (the
    leeway the codec grants is not the cache's).  A token whose ``nbf`` has not passed, accepted
    by the codec within its leeway, is never kept: the cache looks at no claim but ``exp``.
    Revocation is not its business: drop a login with :meth:`discard_sid`, everything on a key
    change with :meth:`clear`.
    """

    def __init__(self, max_entries: int = 100_000, *, clock: Callable[[], float] = time.time):
        if max_entries < 1:
            raise ConfigError("the token cache needs room for at least one entry")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, AccessClaims] = OrderedDict()
        self._by_sid: dict[str, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> AccessClaims | None:
        digest = _digest(token)
        claims = self._entries.get(digest) if digest else None
        if digest is None or claims is None:
            return None
        if self._clock() >= claims.exp:
            self._remove(digest)
            return None
        self._entries.move_to_end(digest)
        return claims

    def put(self, token: str, claims: AccessClaims) -> None:
        digest = _digest(token)
        now = self._clock()
        if digest is None or now >= claims.exp or (claims.nbf is not None and now < claims.nbf):
            return
        self._remove(digest)
        self._entries[digest] = claims
        self._by_sid.setdefault(claims.sid, set()).add(digest)
        while len(self._entries) > self._max:
            self._remove(next(iter(self._entries)))

    def discard_sid(self, sid: str) -> int:
        """Forget every token of one login; how many there were."""
        digests = self._by_sid.pop(sid, set())
        for digest in digests:
            self._entries.pop(digest, None)
        return len(digests)

    def clear(self) -> None:
        self._entries.clear()
        self._by_sid.clear()

    def _remove(self, digest: bytes) -> None:
        claims = self._entries.pop(digest, None)
        if claims is None:
            return
        of_login = self._by_sid.get(claims.sid)
        if of_login is not None:
            of_login.discard(digest)
            if not of_login:
                del self._by_sid[claims.sid]


def _digest(token: object) -> bytes | None:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or not token.isascii():
        return None
    return hashlib.sha256(token.encode("ascii")).digest()
