"""How a credential travels: a cookie or the ``Authorization`` header."""

from passgate.transports.bearer import BearerTransport
from passgate.transports.cookie import CookieTransport

__all__ = ["BearerTransport", "CookieTransport"]
