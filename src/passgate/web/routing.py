"""Bare routes: documented like any FastAPI route, served without FastAPI's per-request machinery.

FastAPI's handler for a route solves its dependencies, opens exit stacks and serialises the
result on every request: measured on ``passgate serve``, a bare ``/healthz`` answered at ~5,000
requests/s as an ordinary route and ~7,700 as a :class:`BareRoute`.  passgate's hottest route
(``GET /api/me``) and its service routes (health, metrics, JWKS) need none of that machinery:
their endpoints take the :class:`~starlette.requests.Request` and return a Response.  Exception
handlers still apply (Starlette's ``request_response`` wraps every route with them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class BareRoute(APIRoute):
    """An APIRoute whose endpoint is called with the bare Request and must return a Response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def json_response(content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response, as Starlette's JSONResponse renders it, without building an encoder per call."""
    return Response(_encode(content).encode(), status_code=status_code, headers=headers,
                    media_type="application/json")


class Encoded(NamedTuple):
    """A JSON body and its headers, encoded once to be served many times."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, content: Any) -> Encoded:
        body = _encode(content).encode()
        return cls(body, ((b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")))


class EncodedResponse(Response):
    """A 200 response of an :class:`Encoded` body: nothing is rendered or measured per request."""

    media_type = "application/json"

    def __init__(self, encoded: Encoded) -> None:
        self.status_code = 200
        self.background = None
        self.body = encoded.body
        self.raw_headers = list(encoded.headers)
