"""What every transport shares: the request head, read once, and the interface each transport keeps.

:func:`read_head` makes one pass over a request's raw headers and keeps the result in the ASGI
scope, so that the request guard, the transports and the CSRF check never walk them again.
"""

from __future__ import annotations

from typing import Protocol

from starlette.types import Scope

_HEAD = "passgate.head"
_AUTHORIZATION, _COOKIE, _CONTENT_LENGTH, _DPOP = b"authorization", b"cookie", b"content-length", b"dpop"


def _text(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode("latin-1")


class RequestHead:
    """The headers passgate reads of a request, as the server sent them; each is decoded when asked for.

    It runs on every request, so the pass keeps raw bytes and builds nothing it may not need: every
    ``Authorization`` and ``Cookie`` value, the last ``Content-Length``, and the first value of any other.
    """

    __slots__ = ("_authorization", "_cookies", "_dpop", "_first", "content_length")

    def __init__(self, authorization: list[bytes], cookies: list[bytes], first: dict[bytes, bytes],
                 content_length: bytes | None, dpop: list[bytes] | None = None) -> None:
        self._authorization, self._cookies, self._first = authorization, cookies, first
        self._dpop = [] if dpop is None else dpop
        #: The raw ``Content-Length`` value (the last one sent), if any.
        self.content_length = content_length

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
        """Every ``DPoP`` proof header, in order (RFC 9449: exactly one is a proof)."""
        return tuple([value.decode("latin-1") for value in self._dpop]) if self._dpop else ()

    @property
    def cookie(self) -> str:
        """The ``Cookie`` headers joined by ``; ``."""
        cookies = self._cookies
        if len(cookies) == 1:
            return cookies[0].decode("latin-1")
        return "; ".join([value.decode("latin-1") for value in cookies])

    def first(self, name: bytes) -> str | None:
        """The first value of another header (its name in lower case), if sent."""
        raw = self._first.get(name)
        return None if raw is None else raw.decode("latin-1")

    @property
    def origin(self) -> str | None:
        """``Origin``, if sent."""
        return self.first(b"origin")

    @property
    def csrf_token(self) -> str | None:
        """``X-CSRF-Token``, if sent."""
        return self.first(b"x-csrf-token")

    @property
    def host(self) -> str:
        """``Host`` (empty when not sent)."""
        return _text(self._first.get(b"host"))

    @property
    def user_agent(self) -> str:
        """``User-Agent`` (empty when not sent)."""
        return _text(self._first.get(b"user-agent"))

    @property
    def content_type(self) -> str:
        """``Content-Type`` (empty when not sent)."""
        return _text(self._first.get(b"content-type"))

    @property
    def forwarded_for(self) -> str:
        """``X-Forwarded-For`` (empty when not sent); believed only from a trusted proxy."""
        return _text(self._first.get(b"x-forwarded-for"))


def read_head(scope: Scope) -> RequestHead:
    """The request's :class:`RequestHead`: read on the first call, then kept in the scope."""
    head: RequestHead | None = scope.get(_HEAD)
    if head is not None:
        return head
    authorization: list[bytes] = []
    cookies: list[bytes] = []
    first: dict[bytes, bytes] = {}
    proofs: list[bytes] = []
    length = None
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            authorization.append(value)
        elif name == _COOKIE:
            cookies.append(value)
        elif name == _CONTENT_LENGTH:
            length = value
        elif name == _DPOP:
            proofs.append(value)
        elif name not in first:
            first[name] = value
    head = scope[_HEAD] = RequestHead(authorization, cookies, first, length, proofs)
    return head


def sole_credential(headers: list[tuple[bytes, bytes]]) -> tuple[bool, bytes] | None:
    """``(True, value)`` for a request whose only credential header is one ``Authorization`` (and no
    ``DPoP`` proof), ``(False, value)`` for one with a single ``Cookie`` header and no
    ``Authorization``; None for anything else, which :func:`read_head` and the transports judge.
    A pass that builds nothing: it runs first on every request that asks for its caller."""
    authorization = cookie = None
    for name, value in headers:
        if name == _AUTHORIZATION:
            if authorization is not None:
                return None
            authorization = value
        elif name == _COOKIE:
            cookie = b"" if cookie is not None else value  # several (b""): read_head joins them
        elif name == _DPOP:
            return None
    if authorization is not None:
        return True, authorization
    return (False, cookie) if cookie else None


class Transport(Protocol):
    """How a credential travels in a request."""

    def read(self, head: RequestHead) -> str | None:
        """The credential the request carries this way, or None; a malformed one raises."""
        ...

    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value that asks for this credential, if it has one."""
        ...

