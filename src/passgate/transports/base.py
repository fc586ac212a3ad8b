"""What every transport shares: the request head, read once, and the interface each transport keeps.

:func:`read_head` makes one pass over a request's raw headers and keeps the result in the ASGI
scope, so that the request guard, the transports and the CSRF check never walk them again.
"""

from __future__ import annotations

from typing import Protocol

from starlette.types import Scope

_HEAD = "passgate.head"
_AUTHORIZATION, _COOKIE, _CONTENT_LENGTH, _DPOP = b"authorization", b"cookie", b"content-length", b"dpop"
#: Headers kept by their first value, and the slot each goes to.
_FIRST = {b"origin": "_origin", b"x-csrf-token": "_csrf_token", b"host": "_host", b"user-agent": "_user_agent",
          b"content-type": "_content_type", b"x-forwarded-for": "_forwarded_for"}


def _text(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode("latin-1")


class RequestHead:
    """The headers passgate reads of a request, as the server sent them; each is decoded when asked for.

    It runs on every request, so the pass keeps raw bytes and builds nothing it may not need.
    """

    __slots__ = ("_authorization", "_content_type", "_cookies", "_csrf_token", "_dpop", "_forwarded_for", "_host",
                 "_origin", "_user_agent", "content_length")

    def __init__(self, authorization: list[bytes], cookies: list[bytes], dpop: list[bytes] | None = None) -> None:
        self._authorization, self._cookies, self._dpop = authorization, cookies, [] if dpop is None else dpop
        #: The raw ``Content-Length`` value (the last one sent), if any.
        self.content_length: bytes | None = None
        self._origin: bytes | None = None
        self._csrf_token: bytes | None = None
        self._host: bytes | None = None
        self._user_agent: bytes | None = None
        self._content_type: bytes | None = None
        self._forwarded_for: bytes | None = None

    @property
    def authorizations(self) -> int:
        """How many ``Authorization`` headers were sent."""
        return len(self._authorization)

    @property
    def authorization(self) -> tuple[str, ...]:
        """Every ``Authorization`` value, in order (more than one is a malformed request)."""
        values = self._authorization
        if not values:  # the common cases without a generator: none, or one
            return ()
        if len(values) == 1:
            return (values[0].decode("latin-1"),)
        return tuple([value.decode("latin-1") for value in values])

    @property
    def dpop(self) -> tuple[str, ...]:
        """Every ``DPoP`` proof header, in order (more than one is an invalid proof, RFC 9449 §4.3)."""
        return tuple([value.decode("latin-1") for value in self._dpop]) if self._dpop else ()

    @property
    def cookie(self) -> str:
        """The ``Cookie`` headers joined by ``; ``."""
        cookies = self._cookies
        if len(cookies) == 1:
            return cookies[0].decode("latin-1")
        return "; ".join([value.decode("latin-1") for value in cookies])

    @property
    def origin(self) -> str | None:
        """``Origin``, if sent."""
        return None if self._origin is None else self._origin.decode("latin-1")

    @property
    def csrf_token(self) -> str | None:
        """``X-CSRF-Token``, if sent."""
        return None if self._csrf_token is None else self._csrf_token.decode("latin-1")

    @property
    def host(self) -> str:
        """``Host`` (empty when not sent)."""
        return _text(self._host)

    @property
    def user_agent(self) -> str:
        """``User-Agent`` (empty when not sent)."""
        return _text(self._user_agent)

    @property
    def content_type(self) -> str:
        """``Content-Type`` (empty when not sent)."""
        return _text(self._content_type)

    @property
    def forwarded_for(self) -> str:
        """``X-Forwarded-For`` (empty when not sent); believed only from a trusted proxy."""
        return _text(self._forwarded_for)


def read_head(scope: Scope) -> RequestHead:
    """The request's :class:`RequestHead`: read on the first call, then kept in the scope."""
    head: RequestHead | None = scope.get(_HEAD)
    if head is not None:
        return head
    authorization: list[bytes] = []
    cookies: list[bytes] = []
    proofs: list[bytes] = []
    head = RequestHead(authorization, cookies, proofs)
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            authorization.append(value)
        elif name == _COOKIE:
            cookies.append(value)
        elif name == _CONTENT_LENGTH:
            head.content_length = value
        elif name == _DPOP:
            proofs.append(value)
        else:
            slot = _FIRST.get(name)
            if slot is not None and getattr(head, slot) is None:
                setattr(head, slot, value)
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
