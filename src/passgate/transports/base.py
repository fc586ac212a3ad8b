"""What every transport shares: the request head, read once, and the interface each transport keeps.

:func:`read_head` makes one pass over a request's raw headers and keeps the result in the ASGI
scope, so that the request guard, the transports and the CSRF check never walk them again.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from starlette.types import Scope

_HEAD = "passgate.head"
#: Headers kept by their first value, in RequestHead's order.
_FIRST = (b"host", b"user-agent", b"content-type")


class RequestHead(NamedTuple):
    """The headers passgate reads of every request."""

    #: Every ``Authorization`` value, in order (more than one is a malformed request).
    authorization: tuple[str, ...]
    #: The ``Cookie`` headers joined by ``; ``.
    cookie: str
    #: The raw ``Content-Length`` value, if sent.
    content_length: bytes | None
    #: ``Origin``, if sent.
    origin: str | None
    #: ``X-CSRF-Token``, if sent.
    csrf_token: str | None
    #: ``Host`` (empty when not sent).
    host: str = ""
    #: ``User-Agent`` (empty when not sent).
    user_agent: str = ""
    #: ``Content-Type`` (empty when not sent).
    content_type: str = ""
    #: Every ``DPoP`` proof header, in order (more than one is an invalid proof, RFC 9449 §4.3).
    dpop: tuple[str, ...] = ()


def read_head(scope: Scope) -> RequestHead:
    """The request's :class:`RequestHead`: read on the first call, then kept in the scope."""
    head: RequestHead | None = scope.get(_HEAD)
    if head is not None:
        return head
    authorization: list[str] = []
    cookies: list[str] = []
    proofs: list[str] = []
    length = origin = csrf = None
    first: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization.append(value.decode("latin-1"))
        elif name == b"cookie":
            cookies.append(value.decode("latin-1"))
        elif name == b"content-length":
            length = value
        elif name == b"origin" and origin is None:
            origin = value.decode("latin-1")
        elif name == b"x-csrf-token" and csrf is None:
            csrf = value.decode("latin-1")
        elif name == b"dpop":
            proofs.append(value.decode("latin-1"))
        elif name in _FIRST and name not in first:
            first[name] = value
    host, user_agent, content_type = (first.get(name, b"").decode("latin-1") for name in _FIRST)
    head = RequestHead(tuple(authorization), "; ".join(cookies), length, origin, csrf, host, user_agent,
                       content_type, tuple(proofs))
    scope[_HEAD] = head
    return head


class Transport(Protocol):
    """How a credential travels in a request."""

    def read(self, head: RequestHead) -> str | None:
        """The credential the request carries this way, or None; a malformed one raises."""
        ...

    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value that asks for this credential, if it has one."""
        ...
