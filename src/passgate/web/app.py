"""The library's front door: :class:`Passgate` protects a FastAPI or Starlette application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import PlainTextResponse, Response

from passgate.config import Settings, load_settings
from passgate.deployment import Deployment
from passgate.errors import AuthError
from passgate.identity.users import UserRepository
from passgate.transports import BearerTransport, CookieTransport
from passgate.web import problems
from passgate.web.api import build_router
from passgate.web.auth import Authenticator, Caller
from passgate.web.metrics import Metrics, MetricsMiddleware
from passgate.web.middleware import OriginGuardMiddleware, ProblemCORSMiddleware, RequestGuardMiddleware
from passgate.web.routing import BareRoute, json_response

TOKEN_PATHS = ("/token", "/token/refresh")


class Passgate:
    """One deployment's authentication, ready to install into an app.

    Built from a :class:`Settings` or from the same keywords and ``PASSGATE_*`` variables as
    ``passgate serve``.  Nothing is global: two instances in one process are independent.
    """

    def __init__(self, settings: Settings | None = None, *, users: UserRepository | None = None,
                 **options: Any) -> None:
        self.settings = settings or load_settings(**options)
        self.deployment = Deployment(self.settings, users=users)
        self.cookie = CookieTransport(
            insecure=self.settings.insecure_cookies, max_age=int(self.settings.session_absolute)
        )
        self.bearer = BearerTransport()
        self.metrics = Metrics(hashes=self.deployment.hasher.counts)
        self.authenticator = Authenticator(
            self.deployment.manager, cookie=self.cookie, bearer=self.bearer, public_url=self.settings.public_url
        )

    # -- dependencies ----------------------------------------------------------------

    async def current_user(self, request: Request) -> Caller:
        """FastAPI dependency: the caller (cookie or bearer), or 401; checks CSRF for cookie callers."""
        return await self.caller(request)

    async def optional_user(self, request: Request) -> Caller | None:
        """FastAPI dependency: the caller, or None for anonymous requests and dead credentials."""
        caller = await self.authenticator.caller(request, required=False)
        try:
            return None if caller is None else await self._with_username(caller)
        except AuthError:
            return None

    async def caller(self, request: Request, *, form_token: str | None = None) -> Caller:
        """The caller (cookie or bearer), or AuthError (401); checks CSRF for cookie callers.

        ``form_token`` is the ``csrf_token`` field of an HTML form, for forms that cannot send ``X-CSRF-Token``.
        """
        # A login this node's caches vouch for is settled without a single await.
        caller = self.authenticator.known(request.scope) or await self.authenticator.caller(request, required=True)
        assert caller is not None
        self.authenticator.check_csrf(request, caller, form_token)
        return caller if caller.username else await self._with_username(caller)

    async def _with_username(self, caller: Caller) -> Caller:
        if caller.username:
            return caller
        # A token vouched for by its signature alone during a store outage: the name comes from the database.
        user = await self.deployment.users.get(caller.user_id)
        if user is None:
            raise AuthError("the account is gone")
        return caller.with_username(user.username)

    def session_cookie(self, request: Request) -> str | None:
        """The session cookie's value in the request, if it sends one (valid or not)."""
        return self.cookie.read("; ".join(request.headers.getlist("cookie")))

    async def session_caller(self, cookie: str) -> Caller:
        """The caller behind a session cookie's value (used right after a login sets it)."""
        return self.authenticator.session_caller(await self.deployment.manager.session(cookie))

    async def revoke_logins(self, user_id: str, *, keep: str | None = None) -> int:
        """End every login of a user (all but ``keep``), cookie and token, on every node; the count ended.

        For applications that keep their own users: call it when a password changes or an account goes.
        """
        return await self.deployment.manager.revoke_all(user_id, keep=keep)

    # -- installing ------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        """Start the store listeners and key reloading with the app, stop them after."""
        await self.deployment.start()
        try:
            yield
        finally:
            await self.deployment.stop()

    def install(self, app: FastAPI, *, prefix: str = "/api") -> None:
        """Serve the JSON API under ``prefix``, problem+json errors, the JWKS, health and the guards."""
        # passgate's routes go to the front of the app's own list (not an included router, which
        # matches each request twice), the hottest first: every route tried before the right one
        # costs its match, ~3 µs in FastAPI.  A path and method the app already serves stays the app's.
        taken = {(r.path, m) for r in app.router.routes if isinstance(r, APIRoute) for m in r.methods or ()}
        routes = [r for r in (*build_router(self, prefix=prefix).routes, *self._service_routes())
                  if isinstance(r, APIRoute) and not {(r.path, m) for m in r.methods or ()} & taken]
        hot = [r for r in routes if r.path in (f"{prefix}/me", "/healthz") and r.methods == {"GET"}]
        app.router.routes[:0] = [*hot, *(r for r in routes if r not in hot)]
        problems.install(app)
        app.add_middleware(OriginGuardMiddleware, public_url=self.settings.public_url,
                           cors_origins=self.settings.cors_origins, cors_paths=[prefix + p for p in TOKEN_PATHS])
        if self.settings.cors_origins:
            app.add_middleware(
                ProblemCORSMiddleware, allow_origins=list(self.settings.cors_origins), allow_credentials=False,
                allow_methods=["GET", "POST", "PUT", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        app.add_middleware(RequestGuardMiddleware)
        app.add_middleware(MetricsMiddleware, metrics=self.metrics)

    def _service_routes(self) -> list[APIRoute]:
        async def jwks(request: Request) -> Response:
            return json_response(self.deployment.ring().jwks(), headers={"Cache-Control": "max-age=60"})

        async def healthz(request: Request) -> Response:
            return PlainTextResponse("ok")

        async def readyz(request: Request) -> Response:
            checks = await self.deployment.ready()
            return json_response(checks, status_code=200 if all(checks.values()) else 503)

        async def metrics(request: Request) -> Response:
            return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4")

        return [BareRoute(path, endpoint, methods=["GET"], include_in_schema=False)
                for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics),
                                       ("/.well-known/jwks.json", jwks))]

    def asgi_app(self, *, prefix: str = "/api", **fastapi_options: Any) -> FastAPI:
        """passgate's routes as an ASGI app to mount into another application, e.g. plain Starlette.

        It serves what :meth:`install` adds: the JSON API under ``prefix``, the JWKS, health and metrics,
        with problem+json errors and the guards.  Mount it at ``/``, after the application's own routes
        (``Mount("/", app=auth.asgi_app())``), so that every path is where the contract puts it.  It has no
        lifespan of its own: the host application runs :meth:`lifespan`.
        """
        fastapi_options.setdefault("title", "passgate")
        app = FastAPI(**fastapi_options)
        self.install(app, prefix=prefix)
        return app

    def app(self, **fastapi_options: Any) -> FastAPI:
        """A FastAPI application serving only passgate's API (for a dedicated auth service)."""
        app = FastAPI(lifespan=self.lifespan, **fastapi_options)
        self.install(app)
        return app
