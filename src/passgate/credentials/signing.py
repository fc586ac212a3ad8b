"""The key ring and the access-token codec that this node signs and verifies with.

Both come from the database when the deployment starts (the issuer is fixed there, and the keys
live there), so a :class:`Signing` is empty until then.  A key rotation read later swaps the
ring, and every listener (the verifier's token cache) is told.
"""

from __future__ import annotations

from collections.abc import Callable

from passgate.credentials.keys import KeyRing
from passgate.credentials.tokens import AccessTokenCodec
from passgate.errors import PassgateError


class Signing:
    def __init__(self, codec: AccessTokenCodec | None = None, ring: KeyRing | None = None) -> None:
        self._codec, self._ring = codec, ring
        self._listeners: list[Callable[[], None]] = []

    @property
    def codec(self) -> AccessTokenCodec:
        if self._codec is None:
            raise PassgateError("the deployment has not been started")
        return self._codec

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise PassgateError("the deployment has not been started")
        return self._ring

    def start(self, codec: AccessTokenCodec, ring: KeyRing) -> None:
        self._codec = codec
        self.rotate(ring)

    def rotate(self, ring: KeyRing) -> None:
        """Use ``ring`` from now on; listeners hear of it when its keys differ from the last ring's."""
        changed = self._ring is not None and ring.version != self._ring.version
        self._ring = ring
        if changed:
            for listener in self._listeners:
                listener()

    def on_rotation(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever another set of keys takes over."""
        self._listeners.append(listener)
