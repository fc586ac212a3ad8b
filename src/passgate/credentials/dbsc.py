"""Device Bound Session Credentials (the W3C DBSC draft): a cookie login bound to a key the browser keeps.

A login's answer offers registration with a challenge (:meth:`DeviceSessions.challenge`); the browser
makes a key pair and sends a proof, a compact JWS with the header ``{"typ":"dbsc+jwt","alg","jwk"}``
and the claim ``jti`` (the challenge), which :meth:`DeviceSessions.register` checks with PyJWT (ES256
on P-256, or RS256 with 2048 bits or more).  The login record then keeps the key's RFC 7638
thumbprint (``jkt``, as a DPoP-bound token login does), and the store keeps the public key itself
beside it, under the user's hash tag, for the login's lifetime: a refresh proof carries no key.

A bound login is authenticated by its session cookie *and* a short-lived bound cookie
(:meth:`DeviceSessions.bound_cookie`): ``EXPIRY.MAC``, an HMAC under the deployment secret over the
login id, its key's thumbprint and the expiry, so that every node checks it without the store.  When
it expires the browser asks the refresh endpoint; :meth:`DeviceSessions.refresh` answers a request
without a proof, or with a proof of a challenge that is unknown, spent or expired, by
:class:`~passgate.errors.DbscChallenge` (a fresh challenge), and one signed by another key by
:class:`~passgate.errors.InvalidDbscProof`.

Challenges are 256 random bits, kept in the store (only their SHA-256) with the login they were
issued for, for :data:`CHALLENGE_TTL` seconds; spending one is a delete whose count lets exactly one
caller through, on any node.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from passgate.credentials.logins import LoginRepository
from passgate.credentials.records import Login
from passgate.credentials.secrets import Signer
from passgate.credentials.tokens import json_object, split_compact, unb64url
from passgate.errors import DbscChallenge, InvalidDbscProof, TokenInvalid
from passgate.stores.base import Store

__all__ = ["ALGORITHMS", "CHALLENGE_TTL", "PROOF_TYPE", "DeviceSessions", "thumbprint"]

#: The algorithms a browser's key may use, in the order ``Secure-Session-Registration`` offers them.
ALGORITHMS = ("ES256", "RS256")
PROOF_TYPE = "dbsc+jwt"
#: How long a challenge can be answered, seconds (the draft: "a short lifetime").
CHALLENGE_TTL = 120.0
MIN_RSA_BITS = 2048
MAX_PROOF = 8192
#: Each algorithm's key type and the members of its RFC 7638 thumbprint.
_KEYS = {"ES256": ("EC", ("crv", "kty", "x", "y")), "RS256": ("RSA", ("e", "kty", "n"))}
_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public EC or RSA key."""
    members = next((m for kty, m in _KEYS.values() if kty == jwk.get("kty")), None)
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError("not a public EC or RSA JWK")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode("ascii")


def _challenge_key(challenge: str) -> str:
    return "pg:dbsc:c:" + hashlib.sha256(challenge.encode()).hexdigest()


def _key_key(login: Login) -> str:
    return f"pg:{{{login.user_id}}}:dbsc:{login.id}"


def _public_key(alg: str, jwk: object) -> tuple[str, dict[str, str], Any]:
    """The thumbprint, public members and key object of a registration's ``jwk``, which must fit ``alg``."""
    if not isinstance(jwk, dict) or _PRIVATE & jwk.keys():
        raise InvalidDbscProof("the registration needs the public key, and only that")
    kty, members = _KEYS[alg]
    if jwk.get("kty") != kty or (kty == "EC" and jwk.get("crv") != "P-256") or jwk.get("alg", alg) != alg:
        raise InvalidDbscProof("the key does not fit the proof's algorithm")
    public = {name: jwk[name] for name in members if isinstance(jwk.get(name), str)}
    try:
        key = jwt.PyJWS().get_algorithm_by_name(alg).from_jwk(public)
        jkt = thumbprint(public)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise InvalidDbscProof("the key is not a usable public key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise InvalidDbscProof("the RSA key is too short")
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidDbscProof("the key is not a public key")
    return jkt, {**public, "alg": alg}, key


def _read(proof: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A proof's signing input, header and claims, its shape checked (not yet its signature)."""
    if len(proof) > MAX_PROOF:
        raise InvalidDbscProof("the proof is too long")
    try:
        header_b64, payload_b64, _ = split_compact(proof)
        header, claims = json_object(unb64url(header_b64)), json_object(unb64url(payload_b64))
    except TokenInvalid:
        raise InvalidDbscProof("malformed proof") from None
    typ, alg = header.get("typ"), header.get("alg")
    if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:
        raise InvalidDbscProof("not a DBSC proof")
    if alg not in ALGORITHMS:
        raise InvalidDbscProof("unsupported proof algorithm")
    if not isinstance(claims.get("jti"), str) or not 0 < len(claims["jti"]) <= 256:
        raise InvalidDbscProof("the proof names no challenge")
    return f"{header_b64}.{payload_b64}", header, claims


def _verified(proof: str, alg: str, key: Any) -> None:
    """PyJWT checks the signature by ``key`` under exactly ``alg`` (the token cannot choose)."""
    try:
        jwt.PyJWS().decode_complete(proof, key=key, algorithms=[alg])
    except jwt.PyJWTError:
        raise InvalidDbscProof("bad proof signature") from None


class DeviceSessions:
    """Challenges, registrations, refreshes and bound cookies; one per node, shared by every request."""

    def __init__(self, store: Store, logins: LoginRepository, secret: bytes, *, cookie_ttl: float = 600.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._store, self._logins, self.cookie_ttl, self._clock = store, logins, cookie_ttl, clock
        self._signer = Signer(secret, "dbsc-bound-cookie")

    async def challenge(self, login: Login) -> str:
        """A fresh challenge for ``login``, single use, good for :data:`CHALLENGE_TTL` seconds on any node."""
        while True:
            challenge = secrets.token_urlsafe(32)
            if await self._store.set_if_absent(_challenge_key(challenge), self._owner(login), CHALLENGE_TTL):
                return challenge

    @staticmethod
    def _owner(login: Login) -> bytes:
        return f"{login.user_id}.{login.id}".encode()

    async def _spend(self, challenge: str, login: Login) -> bool:
        """Whether ``challenge`` was issued for ``login`` and this caller is the one who spent it."""
        key = _challenge_key(challenge)
        if await self._store.get(key) != self._owner(login):
            return False
        return bool(await self._store.delete(key))

    async def register(self, login: Login, proof: str) -> Login:
        """Bind ``login`` to the key of a registration ``proof`` (a challenge of this login, signed by
        the key in its header); the login as it is now.  InvalidDbscProof otherwise."""
        if login.jkt:
            raise InvalidDbscProof("the session is bound to a key already")
        _, header, claims = _read(proof)
        jkt, public, key = _public_key(header["alg"], header.get("jwk"))
        _verified(proof, header["alg"], key)
        if not await self._spend(claims["jti"], login):
            raise InvalidDbscProof("the registration's challenge is unknown, spent or for another login")
        current = await self._logins.get(login.user_id, login.id, fresh=True)
        if current is None or current.jkt:
            raise InvalidDbscProof("the session ended, or was bound meanwhile")
        lifetime = max(1.0, current.expires_at - self._clock())  # the absolute end: the idle one slides
        await self._store.set(_key_key(current), json.dumps(public).encode(), lifetime)
        bound = replace(current, jkt=jkt)
        if not await self._logins.update(current, bound, notify=True):
            raise InvalidDbscProof("the session changed during the registration")
        return bound

    async def refresh(self, login: Login, proof: str | None) -> None:
        """Check a refresh of a bound login: ``proof`` must sign a live challenge of this login with
        its key.  DbscChallenge (a new challenge) when there is none or its challenge is no good;
        InvalidDbscProof when it is not by the login's key."""
        raw = await self._store.get(_key_key(login)) if login.jkt else None
        public = json.loads(raw) if raw else None
        if not isinstance(public, dict) or thumbprint(public) != login.jkt:
            raise InvalidDbscProof("the session is not bound to a key")
        if proof is None:
            raise DbscChallenge(await self.challenge(login), login.id)
        _, header, claims = _read(proof)
        alg = str(public["alg"])
        if header["alg"] != alg:
            raise InvalidDbscProof("the proof is by another kind of key than the session's")
        _verified(proof, alg, jwt.PyJWS().get_algorithm_by_name(alg).from_jwk(public))
        if not await self._spend(claims["jti"], login):
            raise DbscChallenge(await self.challenge(login), login.id)

    def bound_cookie(self, login: Login) -> str:
        """A bound cookie's value for ``login``, good for ``cookie_ttl`` seconds from now."""
        expires = int(self._clock() + self.cookie_ttl)
        return f"{expires}.{self._signer.sign(f'{login.id}.{login.jkt}.{expires}')}"

    def bound_cookie_valid(self, login: Login, value: str | None) -> bool:
        """Whether ``value`` is a live bound cookie of ``login`` (no await, no store)."""
        if value is None or len(value) > 64:
            return False
        expires, _, mac = value.partition(".")
        if not expires.isdigit() or not expires.isascii() or int(expires) <= self._clock():
            return False
        return self._signer.check(f"{login.id}.{login.jkt}.{expires}", mac)
