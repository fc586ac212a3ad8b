"""How a credential travels: a cookie or the ``Authorization`` header."""

from passgate.transports.base import RequestHead, Transport, read_head
from passgate.transports.bearer import BearerTransport
from passgate.transports.cookie import CookieTransport

__all__ = ["BearerTransport", "CookieTransport", "RequestHead", "Transport", "read_head"]
