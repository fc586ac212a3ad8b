"""A software authenticator for tests: WebAuthn answers built per the spec, no mocks of passgate.

Each credential is a real EC P-256 key (``cryptography``); registration answers carry the
``none`` attestation (CBOR by ``cbor2``, which py_webauthn brings), logins an ES256 signature
over ``authenticatorData || SHA-256(clientDataJSON)``.  What a browser would check or fill in
(the origin, the relying party id, the flags, the counter) is a knob, so that tests can forge
what a hostile client would send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def options_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The ``publicKey`` member of an options answer (what ``parse…OptionsFromJSON`` takes)."""
    options: dict[str, Any] = answer.get("publicKey", answer)
    return options


@dataclass
class Credential:
    """One discoverable credential the authenticator keeps."""

    rp_id: str
    user_handle: bytes
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sign_count: int = 0

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


def _client_data(kind: str, challenge: str, origin: str, **extra: object) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False,
                       **extra}).encode()


@dataclass
class Authenticator:
    """A platform authenticator with user verification, keeping discoverable credentials."""

    origin: str
    credentials: list[Credential] = field(default_factory=list)
    counts: bool = True  # False: an authenticator that keeps no sign counter (always 0)

    def create(self, answer: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               flags: int = UP | UV | AT, challenge: str | None = None, rk: bool = True,
               reuse: Credential | None = None) -> dict[str, Any]:
        """``PublicKeyCredential.toJSON()`` of ``navigator.credentials.create(options)`` (``reuse``:
        attest a credential made before, as a hostile authenticator might)."""
        options = options_of(answer)
        credential = reuse or Credential(rp_id or options["rp"]["id"], unb64(options["user"]["id"]))
        rp_hash = hashlib.sha256(credential.rp_id.encode()).digest()
        attested = bytes(16) + struct.pack(">H", len(credential.id)) + credential.id + credential.cose_key()
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", credential.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = _client_data("webauthn.create", challenge or options["challenge"], origin or self.origin)
        if reuse is None:
            self.credentials.append(credential)
        return {"id": b64(credential.id), "rawId": b64(credential.id), "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {"credProps": {"rk": rk}},
                "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                             "transports": ["internal"]}}

    def get(self, answer: dict[str, Any], *, credential: Credential | None = None, origin: str | None = None,
            rp_id: str | None = None, flags: int = UP | UV, sign_count: int | None = None,
            user_handle: bytes | None = None, challenge: str | None = None) -> dict[str, Any]:
        """``PublicKeyCredential.toJSON()`` of ``navigator.credentials.get(options)`` by ``credential``
        (the newest one by default), its counter one up unless ``sign_count`` says otherwise."""
        options = options_of(answer)
        credential = credential or self.credentials[-1]
        if sign_count is None:
            credential.sign_count += 1 if self.counts else 0
            sign_count = credential.sign_count
        rp_hash = hashlib.sha256((rp_id or options.get("rpId") or credential.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", sign_count)
        client_data = _client_data("webauthn.get", challenge or options["challenge"], origin or self.origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        handle = credential.user_handle if user_handle is None else user_handle
        return {"id": b64(credential.id), "rawId": b64(credential.id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": b64(handle) if handle else None}}
