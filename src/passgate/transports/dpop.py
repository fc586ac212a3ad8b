"""``Authorization: DPoP <token>`` with its ``DPoP`` proof header (RFC 9449 §7)."""

from __future__ import annotations

from passgate.errors import InvalidDpopProof, MalformedRequest, TokenInvalid
from passgate.transports.base import RequestHead
from passgate.transports.bearer import MAX_TOKEN

#: The proof algorithms passgate takes, as the challenge lists them (``algs``, RFC 9449 §7.1).
ALGS = "ES256 EdDSA"
#: Longer than any proof a client needs (an EC key and the claims take about 600 bytes).
MAX_PROOF = 4096


class DpopTransport:
    scheme = "DPoP"

    def read(self, head: RequestHead) -> str | None:
        """The access token of an ``Authorization: DPoP`` header; None when the request sends no
        ``Authorization`` or another scheme (Bearer's transport judges those).  More than one
        header is a malformed request; a malformed token is an invalid credential."""
        values = head.authorization
        if not values or values[0].lstrip()[:5].lower() != "dpop ":
            return None
        if len(values) > 1:
            raise MalformedRequest("more than one Authorization header")
        token = values[0].strip()[5:].strip()
        if not token or len(token) > MAX_TOKEN:
            raise TokenInvalid("malformed DPoP-bound token")
        return token

    def proof(self, head: RequestHead) -> str | None:
        """The request's one ``DPoP`` proof header, None when there is none; several, or one too long
        or not a single compact JWS, are an invalid proof."""
        proofs = head.dpop
        if not proofs:
            return None
        if len(proofs) > 1:
            raise InvalidDpopProof("more than one DPoP header")
        proof = proofs[0].strip()
        if not proof or len(proof) > MAX_PROOF or "," in proof or " " in proof:
            raise InvalidDpopProof("malformed DPoP header")
        return proof

    def challenge(self, error: str | None = None) -> str:
        """A ``WWW-Authenticate`` value (RFC 9449 §7.1)."""
        return f'{self.scheme} error="{error}", algs="{ALGS}"' if error else f'{self.scheme} algs="{ALGS}"'
