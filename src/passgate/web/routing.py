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
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from fastapi import FastAPI
from fastapi.datastructures import Default
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from passgate.web import problems

#: In a request's scope: the passgate route a RouteGroup matched.
_ROUTE = "passgate.route"

#: What any endpoint that reads a JSON body may answer besides its own failures.
BODY_FAILURES = (400, 413, 415, 422)
#: What any endpoint that reads the caller's credential may answer: 400 for two Authorization headers.
AUTH_FAILURES = (400, 401, 503)

#: How an endpoint is authenticated: not at all, by either credential, or by one kind only.
Auth = Literal["", "either", "cookie", "token"]
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

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
        return cls(body, ((b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"),
                          (b"cache-control", b"no-store")))  # every such body is a caller's own (GET /api/me)


class EncodedResponse(Response):
    """A 200 response of an :class:`Encoded` body: nothing is rendered or measured per request."""

    media_type = "application/json"

    def __init__(self, encoded: Encoded) -> None:
        self.status_code = 200
        self.background = None
        self.body = encoded.body
        self.raw_headers = list(encoded.headers)


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with each ``{"$ref": "#/$defs/Name"}`` replaced by that definition (no cycles in a body)."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inlined(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    return node


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body that the route reads itself.  A nested model's
    ``$defs`` are inlined: in the OpenAPI document, ``#/$defs/…`` would point at its root."""
    schema = model.model_json_schema()
    schema = _inlined(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


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
    #: The credential it needs, for the OpenAPI document (a cookie with its CSRF token for unsafe methods).
    auth: Auth = ""

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
            openapi_extra={**(_body_schema(self.body) if self.body else {}), **self._security()} or None,
            include_in_schema=self.include_in_schema and documented,
        )

    def _security(self) -> dict[str, Any]:
        if not self.auth:
            return {}
        cookie: dict[str, list[str]] = {"session": [], **({"csrf": []} if _UNSAFE & set(self.methods) else {})}
        options = {"either": [{"bearer": []}, cookie], "cookie": [cookie], "token": [{"bearer": []}]}
        return {"security": options[self.auth]}

    def _responses(self) -> dict[int | str, dict[str, Any]]:
        answers = problems.documented([*self.fails, *(BODY_FAILURES if self.body else ())])
        if self.returns is not None:
            answers[self.status_code or 200] = {"model": self.returns, "description": "Success"}
        return answers


def _fastapi_422(response: dict[str, Any]) -> bool:
    return "HTTPValidationError" in str(response.get("content", {}))


def document(app: FastAPI, *, cookie: str) -> None:
    """Complete ``app``'s OpenAPI document: the Problem schema, the credentials (the session cookie
    named ``cookie``), and without FastAPI's own 422 answer, which it adds to every operation with a
    parameter (as application/json, in a shape passgate never answers)."""
    build = app.openapi
    schemes = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "session": {"type": "apiKey", "in": "cookie", "name": cookie},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            openapi_document = build()
            for operations in openapi_document.get("paths", {}).values():
                for operation in operations.values():
                    answers = operation.get("responses", {})
                    if _fastapi_422(answers.get("422", {})):
                        del answers["422"]
            components = openapi_document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas["Problem"] = problems.PROBLEM_SCHEMA
            components.setdefault("securitySchemes", {}).update(schemes)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

class RouteGroup(BaseRoute):
    """passgate's routes as one entry of the host application's route list.

    A request outside passgate's paths (the API's prefix and the service paths) costs this one
    test, not a match of every passgate route, and never meets passgate's guards: they wrap the
    group alone (``wrap``).  Requests on passgate's paths are routed among its own routes.
    """

    def __init__(self, routes: Sequence[APIRoute], *, prefix: str, paths: Collection[str] = (),
                 wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        self.routes = list(routes)
        self._prefix = prefix.rstrip("/") + "/"
        self._paths = frozenset(paths)
        self.app: ASGIApp = self._dispatch if wrap is None else wrap(self._dispatch)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Asked first on every request of the app: a path outside passgate's leaves after one test.
        path: str = scope["path"]
        if scope.get("root_path"):
            path = _route_path(scope)
        if scope["type"] != "http" or not (path.startswith(self._prefix) or path in self._paths):
            return Match.NONE, {}
        partial: Scope | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, _ROUTE: route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child, _ROUTE: route}
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_ROUTE].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


def _route_path(scope: Scope) -> str:
    """The path as the routes see it: without the root path the app is mounted at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path
