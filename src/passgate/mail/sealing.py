"""Sealing an outbox row's payload: AES-256-GCM under a key derived (HKDF-SHA256) from the
deployment secret, the row's id as associated data so that a sealed payload fits only its row."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"passgate:mail-outbox").derive(secret)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Sealer(...)"

    def seal(self, row_id: str, payload: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, json.dumps(payload).encode(), row_id.encode())

    def open(self, row_id: str, sealed: bytes) -> dict[str, Any] | None:
        """The payload, or None when it was sealed under another secret or for another row."""
        try:
            data: dict[str, Any] = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], row_id.encode()))
        except (InvalidTag, ValueError):
            return None
        return data
