"""How a credential travels: a cookie, or the ``Authorization`` header (Bearer, or DPoP with its proof)."""

from passgate.transports.base import RequestHead, Transport, read_head, sole_credential
from passgate.transports.bearer import BearerTransport
from passgate.transports.cookie import CookieTransport
from passgate.transports.dpop import DpopTransport

__all__ = [
    "BearerTransport", "CookieTransport", "DpopTransport", "RequestHead", "Transport", "read_head", "sole_credential",
]
