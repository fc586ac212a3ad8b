"""Bare routes: documented like any FastAPI route, served without FastAPI's per-request machinery.

FastAPI's handler for a route solves its dependencies, opens exit stacks and serialises the
result on every request: measured on ``passgate serve``, a bare ``/healthz`` answered at ~5,000
requests/s as an ordinary route and ~7,700 as a :class:`BareRoute`.  passgate's hottest route
(``GET /api/me``) and its service routes (health, metrics, JWKS) need none of that machinery:
their endpoints take the :class:`~starlette.requests.Request` and return a Response.  Exception
handlers still apply (Starlette's ``request_response`` wraps every route with them).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fastapi.datastructures import Default
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from passgate.web import problems

#: What any endpoint that reads a JSON body may answer besides its own failures.
BODY_FAILURES = (400, 413, 415, 422)
#: What any endpoint that reads the caller's credential may answer: 400 for two Authorization headers.
AUTH_FAILURES = (400, 401, 503)

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


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body that the route reads itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


@dataclass(frozen=True)
class Endpoint:
    """A module-level handler ``async def handler(owner, request, ...)`` and where it is served.

    :meth:`route` binds it to its owner (the :class:`~passgate.web.gate.Gate`, or the board), so that
    handlers stay plain functions grouped by topic.  Their modules keep annotations evaluated
    (no ``from __future__ import annotations``): FastAPI reads them from the bound signature.
    """

    path: str
    handler: Callable[..., Coroutine[Any, Any, Any]]
    methods: Sequence[str] = ("GET",)
    status_code: int | None = None
    #: The JSON body the handler reads itself, for the OpenAPI document.
    body: type[BaseModel] | None = None
    #: Served as a :class:`BareRoute` (the handler takes the request alone and returns a Response).
    bare: bool = False
    include_in_schema: bool = True
    #: The error statuses it may answer (those of a JSON body are added when ``body`` is set).
    fails: Sequence[int] = ()
    #: The success body, for the OpenAPI document (a model, or ``list[Model]``).
    returns: Any = None

    def route(self, owner: object, *, prefix: str = "", tags: Sequence[str] = (), documented: bool = True) -> APIRoute:
        """The route that serves this endpoint for ``owner`` (``documented=False``: not in the OpenAPI document)."""
        kind = BareRoute if self.bare else APIRoute
        bound = functools.partial(self.handler, owner)
        bound.__doc__ = inspect.cleandoc(self.handler.__doc__ or "")  # not partial's own
        return kind(
            prefix + self.path, bound, methods=list(self.methods),
            name=self.handler.__name__, description=bound.__doc__,
            status_code=self.status_code, tags=list(tags), responses=self._responses(),
            # Documented by ``returns`` alone: the handlers' bodies are not revalidated per request.
            response_model=None if self.returns is not None else Default(None),
            openapi_extra=_body_schema(self.body) if self.body else None,
            include_in_schema=self.include_in_schema and documented,
        )

    def _responses(self) -> dict[int | str, dict[str, Any]]:
        answers = problems.documented([*self.fails, *(BODY_FAILURES if self.body else ())])
        if self.returns is not None:
            answers[self.status_code or 200] = {"model": self.returns, "description": "Success"}
        return answers
