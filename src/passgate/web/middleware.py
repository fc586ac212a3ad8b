"""Pure ASGI guards that run before any route: the request's head and body, the foreign-Origin check, CORS."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passgate.errors import CsrfFailed, MalformedRequest, PassgateError, PayloadTooLarge
from passgate.identity.passwords import client_departure
from passgate.transports import read_head
from passgate.web.problems import from_error, problem

MAX_BODY = 64 * 1024
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _reject(exc: PassgateError, scope: Scope, receive: Receive, send: Send) -> None:
    await from_error(exc)(scope, receive, send)


class _Departure:
    """What the hasher awaits to learn that the client hung up while its request is served.

    Called only once the request's body has been read.  A task the request spawned keeps this in
    its context; once the answer is sent (``served``), a hash of that task is waited for like any.
    """

    def __init__(self, receive: Receive) -> None:
        self.receive, self.served = receive, False

    async def __call__(self) -> None:
        if not await self._hung_up():
            await asyncio.Event().wait()  # never: the hash is waited for

    async def _hung_up(self) -> bool:
        try:
            while not self.served:
                if (await self.receive())["type"] == "http.disconnect":
                    return not self.served
        except Exception:  # a server that cannot tell: never claim that the client left
            return False
        return False

    def watch(self, send: Send) -> Send:
        """``send``, noting when the answer's last byte has gone out."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.served = True
            await send(message)

        return sending


class RequestGuardMiddleware:
    """What every request passes before any route: at most one ``Authorization`` header (400), and
    a body within ``limit`` bytes, by its Content-Length or as it streams in (413).

    It also owns the rest of the receive channel: for an unsafe request, it lets the password
    hasher learn that the client hung up, so that a hash nobody waits for is dropped.
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        head = read_head(scope)
        length = head.content_length
        if head.authorizations > 1:
            return await _reject(MalformedRequest("more than one Authorization header"), scope, receive, send)
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _reject(PayloadTooLarge(f"the body is over {self.limit} bytes"), scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise PayloadTooLarge(f"the body is over {self.limit} bytes")
            return message

        if scope["method"] not in UNSAFE:
            return await self.app(scope, limited, send)
        departure = _Departure(limited)
        watching = client_departure.set(departure)
        try:
            await self.app(scope, limited, departure.watch(send))
        finally:
            departure.served = True
            client_departure.reset(watching)


def site_origin(scope: Scope, public_url: str | None) -> str:
    """This site, for ``Origin`` checks: ``--public-url``, else the request's own scheme and host."""
    if public_url:
        return public_url.lower()
    return f"{scope.get('scheme', 'http')}://{read_head(scope).host}".lower()


class OriginGuardMiddleware:
    """403 ``csrf_failed`` for an unsafe request without ``Authorization`` from a foreign Origin.

    This covers login and registration too (login CSRF).  ``cors_paths`` may be called from the
    ``--cors-origins`` allow-list (the token endpoints, which set no cookie).
    """

    def __init__(
        self, app: ASGIApp, *, public_url: str | None, cors_origins: Iterable[str] = (),
        cors_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.public_url = public_url
        self.cors_origins = frozenset(o.lower().rstrip("/") for o in cors_origins)
        self.cors_paths = frozenset(cors_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            head = read_head(scope)
            origin = head.origin
            if origin is not None and not head.authorizations and not self._allowed(origin, scope):
                return await _reject(CsrfFailed("cross-site request refused"), scope, receive, send)
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, scope: Scope) -> bool:
        origin = origin.lower().rstrip("/")
        if origin == site_origin(scope, self.public_url):
            return True
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        return origin in self.cors_origins and (scope["path"] in self.cors_paths or path in self.cors_paths)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, with a refused preflight in problem+json like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = problem(response.status_code, "validation_failed", "Bad request", bytes(response.body).decode())
        for name, value in response.headers.items():
            if name not in ("content-length", "content-type"):
                refused.headers[name] = value
        return refused

