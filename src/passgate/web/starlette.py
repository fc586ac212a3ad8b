"""passgate for Starlette applications without FastAPI.

:class:`PassgateMiddleware` finds the caller of every HTTP request and puts it (a :class:`Caller`,
or None) into ``scope["user"]``, so ``request.user`` and ``request.state.user`` hold it;
:func:`requires_user` guards an endpoint; :meth:`Passgate.asgi_app` serves the JSON API:

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route

    from passgate import Passgate, PassgateMiddleware, requires_user

    auth = Passgate.from_env()

    @requires_user
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": request.user.username})

    app = Starlette(
        routes=[Route("/hello", hello), Mount("/", app=auth.asgi_app())],
        middleware=[Middleware(PassgateMiddleware, passgate=auth)],
        lifespan=auth.lifespan,
    )

The rules are those of the FastAPI dependency ``Passgate.current_user``: a request that sends
``Authorization`` is judged by it alone, otherwise by the session cookie; a cookie caller's unsafe
request (POST, PUT, PATCH, DELETE) counts as logged in only with the session's ``X-CSRF-Token`` and,
when sent, a same-site ``Origin``.  An HTML form that carries its ``csrf_token`` as a field instead
asks ``await auth.caller(request, form_token=...)`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from passgate.errors import AuthError, ConfigError, Forbidden, PassgateError
from passgate.identity.states import wanted_roles
from passgate.web.auth import Caller
from passgate.web.gate import Gate
from passgate.web.middleware import UNSAFE
from passgate.web.problems import from_error

#: A Starlette endpoint: takes the request, answers a response.
Endpoint = Callable[[Request], Awaitable[Response]]


class PassgateMiddleware:
    """Pure ASGI middleware: the caller of each HTTP request into ``scope["user"]`` and ``request.state.user``.

    Both hold a :class:`Caller` or None: None for anonymous requests, and also for a dead or invalid
    credential, a cookie caller's unsafe request without the CSRF token, or a store outage; the
    reason is kept for :func:`requires_user`, which answers it (401, 403 ``csrf_failed``, 503
    ``store_unavailable``).  The middleware itself never answers: public routes stay reachable.
    Other scopes (``websocket``, ``lifespan``) pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, passgate: Gate) -> None:
        self.app = app
        self.passgate = passgate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Settled by this node's caches when a safe method needs no CSRF check (the fast path of
        # ``Passgate.current_user``); otherwise Passgate.caller, which answers why not.
        caller: Caller | None = None
        refusal: PassgateError | None = None
        try:
            caller = self.passgate.authenticator.known(scope)
            if caller is None or not caller.username or scope["method"] in UNSAFE:
                caller = await self.passgate.caller(Request(scope))
        except PassgateError as exc:
            caller, refusal = None, exc
        scope["user"] = caller
        # Where request.state keeps its attributes: no Request or State object is built per request.
        state = scope.setdefault("state", {})
        state["user"] = caller
        state["passgate_refusal"] = refusal
        state["passgate"] = self.passgate
        await self.app(scope, receive, send)


def refusal(request: Request) -> Response | None:
    """The problem+json answer for a request without a caller, or None when it has one.

    401 with ``WWW-Authenticate`` for anonymous requests and dead credentials, 403 ``csrf_failed``,
    503 ``store_unavailable`` with ``Retry-After``: what the JSON API would answer.
    """
    if "user" not in request.scope:
        raise ConfigError("requires_user needs PassgateMiddleware around the application")
    if request.scope["user"] is not None:
        return None
    reason = getattr(request.state, "passgate_refusal", None)
    return from_error(reason if isinstance(reason, PassgateError) else AuthError("log in or send a bearer token"))


def requires_user(endpoint: Endpoint) -> Endpoint:
    """Decorate a Starlette endpoint ``async def f(request) -> Response`` to answer only logged-in callers.

    Others get the problem+json answer of :func:`refusal`; inside, ``request.user`` is the :class:`Caller`.
    """

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        answer = refusal(request)
        return answer if answer is not None else await endpoint(request)

    return guarded


def requires_role(*roles: str) -> Callable[[Endpoint], Endpoint]:
    """:func:`requires_user`, and the caller must have one of ``roles`` (403 ``forbidden`` otherwise),
    read from the database on every such request: ``@requires_role("admin")``."""
    wanted = wanted_roles(roles, "requires_role")

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            answer = refusal(request)
            if answer is not None:
                return answer
            if wanted.isdisjoint(await request.state.passgate.roles_of(request.scope["user"])):
                return from_error(Forbidden(f"this needs the role {' or '.join(sorted(wanted))}"))
            return await endpoint(request)

        return guarded

    return decorate
