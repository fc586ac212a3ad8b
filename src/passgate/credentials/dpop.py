"""DPoP proofs (RFC 9449): a client's signature over one request, by a key that never leaves it.

A proof is a compact JWS with the header ``{"typ":"dpop+jwt","alg","jwk"}`` (the public key, never
a private member) and the claims ``jti htm htu iat`` (and ``ath``, the hash of the access token it
comes with).  :meth:`ProofVerifier.check` judges one without waiting on anything: the shape (as
strictly as access tokens), the header, the key, the signature (PyJWT's ES256 and EdDSA), the
method and URL of the request, ``iat`` within :data:`WINDOW` seconds of now, and ``ath``.
:meth:`ProofVerifier.spend` then makes sure the ``jti`` was never accepted by the deployment within
the proof's lifetime: a ``set_if_absent`` in the store, which every node shares, behind a memory of
this node's own recent proofs (which also catches a replay on this node while the store is down).
A store that no other process shares (``memory://``) adds nothing to that memory, which is then
the whole of it: it is not written to, and the memory keeps every proof until it could no longer be fresh.

Every refusal is :class:`~passgate.errors.InvalidDpopProof`, whose ``reason`` is for the log.

Server nonces (RFC 9449 §8), when the deployment asks for them (:class:`Nonces`), cost no store:
a nonce is a period's number and its HMAC under the deployment secret, so every node issues and
accepts the same ones; the current period's and the previous one's are good.  A proof without a
good one is :class:`~passgate.errors.UseDpopNonce`, which carries a current nonce to retry with.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import Algorithm as JwsAlgorithm

from passgate.credentials.secrets import Signer
from passgate.credentials.tokens import json_object, split_compact, unb64url
from passgate.errors import InvalidDpopProof, TokenInvalid, UseDpopNonce
from passgate.stores.base import Store

__all__ = [
    "ALGORITHMS", "CLOCK_MARGIN", "PROOF_TYPE", "WINDOW", "Nonces", "Proof", "ProofVerifier", "normal_uri",
    "thumbprint", "token_hash",
]

#: The signature algorithms a proof may use, as ``WWW-Authenticate: DPoP algs=…`` lists them.
ALGORITHMS = ("ES256", "EdDSA")
PROOF_TYPE = "dpop+jwt"
#: A proof's ``iat`` may be this many seconds before or after now.
WINDOW = 60.0
#: Nodes' clocks may differ by this much: a ``jti`` is remembered this long past its proof's window.
CLOCK_MARGIN = 5.0
MAX_JTI = 256
LOCAL_ENTRIES = 100_000
HEADER_ENTRIES = 10_000

_HEADER_MEMBERS = frozenset({"typ", "alg", "jwk"})
#: What each algorithm's key must be, and the members of its RFC 7638 thumbprint.
_KEYS: dict[str, tuple[str, frozenset[str], tuple[str, ...]]] = {
    "ES256": ("EC", frozenset({"P-256"}), ("crv", "kty", "x", "y")),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"}), ("crv", "kty", "x")),
}
#: Public-key members a client may send beside the required ones (WebCrypto exports ``ext`` and ``key_ops``).
_OPTIONAL_KEY_MEMBERS = frozenset({"kid", "use", "alg", "key_ops", "ext"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_DATE = 2**53


@dataclass(frozen=True, slots=True)
class Proof:
    """What a checked proof says."""

    #: The RFC 7638 SHA-256 thumbprint of the proof's key.
    jkt: str
    jti: str
    iat: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public EC or OKP key: the required members, in
    lexicographic order, as JSON without whitespace, hashed and base64url-encoded."""
    members = next((m for kty, _, m in _KEYS.values() if kty == jwk.get("kty")), None)
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        raise ValueError("not a public EC or OKP JWK")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), ensure_ascii=False)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


def token_hash(token: str) -> str:
    """A proof's ``ath`` for an access token: its base64url SHA-256 (RFC 9449 §4.2)."""
    return _b64(hashlib.sha256(token.encode("ascii")).digest())


@functools.lru_cache(maxsize=4096)  # a client names the same few URLs again and again
def normal_uri(uri: str) -> str | None:
    """``uri`` as proofs are compared (RFC 9449 §4.3): scheme, host and path, the scheme and host
    in lower case, the default port dropped, the path percent-decoded; no query or fragment.
    None when it is no http(s) URI."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{unquote(parts.path) or '/'}"


class Nonces:
    """The server nonces of a deployment: ``PERIOD.MAC``, good for this period and the previous one."""

    def __init__(self, secret: bytes, *, period: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self._signer, self.period, self._clock = Signer(secret, "dpop-nonce"), period, clock
        self._issued: tuple[int, str] = (-1, "")

    def current(self) -> str:
        """The nonce to hand out now (made once per period)."""
        number = int(self._clock() // self.period)
        if self._issued[0] != number:
            self._issued = (number, f"{number}.{self._signer.sign(str(number))}")
        return self._issued[1]

    def valid(self, nonce: object) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        number, _, mac = nonce.partition(".")
        if not number.isdigit() or not number.isascii():
            return False
        now = int(self._clock() // self.period)
        return int(number) in (now, now - 1) and self._signer.check(number, mac)


#: Whether a signature over a signing input is by one key (the key bound in).
SignatureCheck = Callable[[bytes, bytes], bool]
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_ES256_HALF = 32


def _signature_check(alg: str, key: Any) -> SignatureCheck:
    """The check of ``alg`` signatures by ``key`` (a public key PyJWT built from the JWK), made once
    per key: ES256's JOSE signature is ``r || s``, 32 bytes each, which cryptography takes as DER."""
    if alg == "ES256":
        def es256(signing_input: bytes, signature: bytes) -> bool:
            if len(signature) != 2 * _ES256_HALF:
                return False
            r, s = int.from_bytes(signature[:_ES256_HALF], "big"), int.from_bytes(signature[_ES256_HALF:], "big")
            try:
                key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
            except InvalidSignature:
                return False
            return True

        return es256

    def eddsa(signing_input: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    return eddsa


class ProofVerifier:
    """Checks proofs and remembers their ``jti``; one per node, shared by every request."""

    def __init__(
        self, store: Store, *, window: float = WINDOW, clock: Callable[[], float] = time.time,
        local_entries: int = LOCAL_ENTRIES, nonces: Nonces | None = None,
    ) -> None:
        """``nonces``: ask every proof for a server nonce (None: proofs need none)."""
        self._store, self.window, self._clock, self.nonces = store, window, clock, nonces
        self._algorithms: dict[str, JwsAlgorithm] = {
            name: jwt.PyJWS().get_algorithm_by_name(name) for name in ALGORITHMS
        }
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._headers: dict[str, tuple[str, SignatureCheck]] = {}
        # Bounded beside a shared store, which remembers everything; alone, this memory must forget nothing live.
        self._local_entries = local_entries if store.shared else 2**62

    def check(self, proof: str, *, method: str, uri: str, access_token: str | None = None) -> Proof:
        """The proof's key and ``jti`` if it is genuine and made for this request (``uri`` as the
        client addressed it), now, and with ``access_token`` when one is given; InvalidDpopProof otherwise.
        Its ``jti`` is not spent yet (:meth:`spend`)."""
        try:
            header_b64, payload_b64, signature_b64 = split_compact(proof)
            claims, signature = json_object(unb64url(payload_b64)), unb64url(signature_b64)
            jkt, signed_by_key = self._headers.get(header_b64) or self._header(header_b64)
        except TokenInvalid:
            raise InvalidDpopProof("malformed DPoP proof") from None
        if not signed_by_key(f"{header_b64}.{payload_b64}".encode("ascii"), signature):
            raise InvalidDpopProof("bad DPoP proof signature")
        return self._judge(claims, jkt, method=method, uri=uri, access_token=access_token)

    def _header(self, header_b64: str) -> tuple[str, SignatureCheck]:
        """A header's key thumbprint and signature check, kept: a client sends the same header with
        every proof, so the next one skips its parsing and the key's construction."""
        header = json_object(unb64url(header_b64))
        jkt, key = self._key(header)
        found = (jkt, _signature_check(str(header["alg"]), key))
        self._headers[header_b64] = found
        if len(self._headers) > HEADER_ENTRIES:
            del self._headers[next(iter(self._headers))]
        return found

    def _key(self, header: Mapping[str, Any]) -> tuple[str, Any]:
        """The thumbprint and public key of a proof's header, which must be of our kind."""
        if not header.keys() <= _HEADER_MEMBERS:
            raise InvalidDpopProof("unsupported DPoP proof header")
        typ, alg, jwk = header.get("typ"), header.get("alg"), header.get("jwk")
        if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:
            raise InvalidDpopProof("not a DPoP proof")
        if not isinstance(alg, str) or alg not in _KEYS:
            raise InvalidDpopProof("unsupported DPoP proof algorithm")
        if not isinstance(jwk, dict):
            raise InvalidDpopProof("a DPoP proof needs its public key")
        kty, curves, members = _KEYS[alg]
        if jwk.get("kty") != kty or jwk.get("crv") not in curves or "d" in jwk:
            raise InvalidDpopProof("the DPoP proof's key does not fit its algorithm, or is private")
        if not jwk.keys() <= {*members, *_OPTIONAL_KEY_MEMBERS} or jwk.get("alg", alg) != alg:
            raise InvalidDpopProof("unsupported members in the DPoP proof's key")
        try:
            return thumbprint(jwk), self._algorithms[alg].from_jwk(jwk)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise InvalidDpopProof("the DPoP proof's key is not a usable public key") from None

    def _judge(
        self, claims: Mapping[str, Any], jkt: str, *, method: str, uri: str, access_token: str | None,
    ) -> Proof:
        jti, htm, htu, iat = claims.get("jti"), claims.get("htm"), claims.get("htu"), claims.get("iat")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI:
            raise InvalidDpopProof("missing or invalid 'jti' claim")
        if htm != method:
            raise InvalidDpopProof("the DPoP proof is for another method")
        expected = normal_uri(uri)
        if not isinstance(htu, str) or expected is None or normal_uri(htu) != expected:
            raise InvalidDpopProof("the DPoP proof is for another URL")
        if not isinstance(iat, int | float) or isinstance(iat, bool) or not 0 <= iat < _MAX_DATE:
            raise InvalidDpopProof("missing or invalid 'iat' claim")
        if abs(self._clock() - iat) > self.window:
            raise InvalidDpopProof("the DPoP proof is not fresh")
        if access_token is not None and claims.get("ath") != token_hash(access_token):
            raise InvalidDpopProof("the DPoP proof is for another access token")
        if self.nonces is not None and not self.nonces.valid(claims.get("nonce")):
            raise UseDpopNonce(self.nonces.current())
        return Proof(jkt=jkt, jti=jti, iat=int(iat))

    async def spend(self, proof: Proof) -> None:
        """Accept the proof's ``jti`` once in the deployment; InvalidDpopProof for a replay.

        StoreUnavailable when the store cannot say (this node's own memory has been consulted:
        a replay on this node is refused all the same)."""
        now = self._clock()
        marker = hashlib.sha256(f"{proof.jkt}.{proof.jti}".encode()).digest()[:16]
        expires = proof.iat + self.window + CLOCK_MARGIN
        if not self._remember(marker, expires, now):
            raise InvalidDpopProof("the DPoP proof was used before")
        if not self._store.shared:
            return
        if not await self._store.set_if_absent("pg:dpop:" + marker.hex(), b"1", max(1.0, expires - now)):
            raise InvalidDpopProof("the DPoP proof was used before")

    async def verify(self, proof: str, *, method: str, uri: str, access_token: str | None = None) -> Proof:
        """:meth:`check`, then :meth:`spend`."""
        checked = self.check(proof, method=method, uri=uri, access_token=access_token)
        await self.spend(checked)
        return checked

    def _remember(self, marker: bytes, expires: float, now: float) -> bool:
        """Note a proof in this node's memory; False when it is there already."""
        seen = self._seen.get(marker)
        if seen is not None and seen > now:
            return False
        self._seen[marker] = expires
        self._seen.move_to_end(marker)
        while self._seen and (len(self._seen) > self._local_entries or next(iter(self._seen.values())) <= now):
            self._seen.popitem(last=False)
        return True

