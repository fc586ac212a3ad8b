"""A DPoP client for tests: real keys made with ``cryptography``, proofs signed with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from passgate.credentials.dpop import thumbprint


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode("ascii")).digest())


class Key:
    """A client's key pair: ES256 (P-256) or EdDSA (Ed25519)."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        self.private: Any
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk: dict[str, Any] = dict(ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True))
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            self.jwk = dict(OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True))

    @property
    def jkt(self) -> str:
        return thumbprint(self.jwk)

    def proof(
        self, method: str, url: str, *, token: str | None = None, iat: float | None = None, jti: str | None = None,
        header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None,
    ) -> str:
        """A proof for one request; ``header`` and ``claims`` override (a value of None removes the member)."""
        body: dict[str, Any] = {"jti": jti or secrets.token_urlsafe(16), "htm": method, "htu": url,
                                "iat": int(time.time()) if iat is None else iat}
        if token is not None:
            body["ath"] = ath(token)
        head: dict[str, Any] = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk}
        return compact(self, _merged(head, header), _merged(body, claims))


def _merged(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**base, **(changes or {})}
    return {name: value for name, value in merged.items() if value is not None}


def compact(signer: Key, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS of exactly this header and these claims, signed by ``signer`` (whatever the header says)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    algorithm = jwt.PyJWS().get_algorithm_by_name(signer.alg)
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), signer.private))}"
