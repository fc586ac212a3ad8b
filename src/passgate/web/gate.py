"""The web face of a deployment: dependencies, the login flows for the API and HTML pages, and install.

:class:`Gate` adapts the built services (a :class:`~passgate.deployment.Deployment`) to FastAPI and
Starlette; :class:`passgate.Passgate` is a Gate with the constructors that build those services.
Every flow here (log in, log out, list and end logins, change the password, delete the account)
is the one that the JSON API, the board's pages and an application's own routes all call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from passgate.credentials.dbsc import DeviceSessions
from passgate.credentials.records import Login
from passgate.credentials.refresh import TokenPair
from passgate.deployment import Deployment
from passgate.errors import AuthError, Forbidden, InvalidDpopProof, NotFound
from passgate.hooks import Hooks, decide, observe
from passgate.identity.emails import Email
from passgate.identity.passkeys import Passkey
from passgate.identity.states import wanted_roles
from passgate.identity.users import User, UserRepository
from passgate.mfa import Enrolment
from passgate.passkeys import RelyingParty
from passgate.transports import BearerTransport, CookieTransport, DpopTransport, read_head
from passgate.web import problems
from passgate.web.api import SERVICE_PATHS, routes
from passgate.web.auth import Authenticator, Caller
from passgate.web.clients import ClientAddresses
from passgate.web.csrf import FormTokens, SessionCsrf
from passgate.web.dbsc import DeviceBinding
from passgate.web.metrics import Metrics, MetricsMiddleware
from passgate.web.middleware import (
    MAX_BODY,
    UNSAFE,
    OriginGuardMiddleware,
    ProblemCORSMiddleware,
    RequestGuardMiddleware,
    site_origin,
)
from passgate.web.routing import RouteGroup, document
from passgate.web.schemas import Registration

TOKEN_PATHS = ("/token", "/token/refresh", "/token/mfa")


@dataclass(frozen=True)
class WebOptions:
    """How the deployment meets browsers: cookie flags, this site's address, CORS."""

    insecure_cookies: bool = False
    #: The session cookie's Max-Age (the absolute session lifetime), seconds.
    cookie_max_age: int = 12 * 3600
    #: The device cookie's Max-Age (``--device-cookie-ttl``), seconds.
    device_cookie_max_age: int = 365 * 86400
    public_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    #: Proxies whose ``X-Forwarded-For`` names the client (addresses or networks); none by default.
    trusted_proxies: tuple[str, ...] = ()
    #: DPoP-bound tokens (RFC 9449): ``off`` (proofs ignored, bound tokens refused), ``allowed``
    #: (a client binds its tokens by sending a proof), ``required`` (every token request needs one).
    dpop: Literal["off", "allowed", "required"] = "allowed"
    #: Device-bound browser sessions (DBSC): ``on`` offers every cookie login registration, and a login
    #: bound to the browser's key then needs its short-lived bound cookie; ``off`` changes nothing.
    dbsc: Literal["off", "on"] = "off"
    #: The bound cookie's lifetime (``--dbsc-cookie-ttl``), seconds.
    dbsc_cookie_ttl: float = 600.0


@dataclass(frozen=True)
class PasswordChanged:
    """What :meth:`Gate.change_password` did."""

    #: How many other logins of the user ended.
    revoked: int
    #: For a session: the ``Set-Cookie`` value of its new session id (the old cookie no longer works).
    set_cookie: str | None = None


class Gate:
    """One deployment's authentication, ready to install into an app.

    Nothing is global: two instances in one process are independent.
    """

    def __init__(self, deployment: Deployment, options: WebOptions = WebOptions()) -> None:
        self.deployment, self.options = deployment, options
        self.cookie = CookieTransport(insecure=options.insecure_cookies, max_age=options.cookie_max_age)
        #: The device cookie that a successful login hands out (:meth:`device_cookie`).
        self.device = CookieTransport(insecure=options.insecure_cookies, max_age=options.device_cookie_max_age,
                                      name="passgate-device")
        self.bearer = BearerTransport()
        self.dpop = DpopTransport()
        #: The body of ``POST /api/users``: :class:`Registration`, or the subclass ``install`` was given.
        self.registration: type[Registration] = Registration
        #: The pre-session token of HTML forms shown to anonymous visitors (login, registration).
        self.form_tokens = FormTokens(deployment.secret, insecure=options.insecure_cookies)
        self.metrics = Metrics(hashes=deployment.hasher.counts)
        self.clients = ClientAddresses(options.trusted_proxies)
        #: Device-bound sessions (DBSC); None under ``--dbsc off``.
        self.binding = None if options.dbsc == "off" else DeviceBinding(
            DeviceSessions(deployment.store, deployment.logins, deployment.secret,
                           cookie_ttl=options.dbsc_cookie_ttl, clock=deployment.clock),
            insecure_cookies=options.insecure_cookies)
        self.authenticator = Authenticator(
            deployment.verifier, cookie=self.cookie, bearer=self.bearer, csrf=SessionCsrf(deployment.secret),
            public_url=options.public_url, dpop=None if options.dpop == "off" else self.dpop, binding=self.binding,
        )

    @property
    def _hooks(self) -> Hooks:
        return self.deployment.accounts.hooks

    @property
    def users(self) -> UserRepository:
        """Where the deployment's users live."""
        return self.deployment.users

    @property
    def database(self) -> AsyncEngine:
        """The deployment's relational database (for an application's own tables beside passgate's)."""
        return self.deployment.engine

    # -- dependencies ----------------------------------------------------------------

    async def current_user(self, request: Request) -> Caller:
        """FastAPI dependency: the caller (cookie or bearer), or 401; checks CSRF for cookie callers."""
        caller = self.authenticator.known(request.scope)
        if caller is not None and caller.username and request.scope["method"] not in UNSAFE:
            return caller  # settled by the caches, and a safe method needs no CSRF check: no await
        return await self.caller(request)

    def require_role(self, *roles: str) -> Callable[[Request], Awaitable[Caller]]:
        """FastAPI dependency factory: ``Depends(auth.require_role("admin"))`` is the caller when they
        have one of ``roles`` (403 ``forbidden`` otherwise, 401 without a caller).  The roles are read
        from the database on every such request, so taking a role away takes effect at once."""
        wanted = wanted_roles(roles, "require_role")

        async def caller_with_role(request: Request) -> Caller:
            caller = await self.current_user(request)
            if wanted.isdisjoint(await self.roles_of(caller)):
                raise Forbidden(f"this needs the role {' or '.join(sorted(wanted))}")
            return caller

        return caller_with_role

    async def roles_of(self, caller: Caller) -> tuple[str, ...]:
        """The caller's roles (read once per request, then kept on the caller)."""
        if caller.roles is None:
            caller.roles = await self.deployment.accounts.states.roles(caller.user_id)
        return caller.roles

    async def optional_user(self, request: Request) -> Caller | None:
        """FastAPI dependency: the caller, or None for anonymous requests and dead credentials."""
        try:
            settled = self.authenticator.known(request.scope)
        except AuthError:
            settled = None  # the long way below records the refusal
        if settled is not None and settled.username:
            return settled  # settled by the caches: no await
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

    # -- logging in and out ----------------------------------------------------------

    async def register(self, username: str, password: str, *, email: str | None = None,
                       request: Request | None = None, fields: Mapping[str, Any] | None = None) -> User:
        """A new account (409 ``username_taken``, 422 for a name or password the rules refuse); with
        ``email``, its address, unverified, and a verification mail (503 ``mail_unavailable`` when
        the deployment sends no mail).  ``request`` gives the links' site when there is no ``--public-url``.
        ``fields``: extra fields for the application's user model (see ``install(registration=...)``)."""
        return await self.deployment.accounts.register(username, password, email=email,
                                                       base_url=self.site_url(request), fields=fields)

    def device_cookie(self, user: User) -> str:
        """The ``Set-Cookie`` value of a new device cookie for ``user``: add it to every successful
        login's answer (the API's and the board's do), so that this client is not locked out by
        strangers' guesses at the account later.  A new password ends it."""
        return self.device.set_header(self.deployment.accounts.devices.issue(user.id, user.password_hash))

    async def authenticate(self, request: Request, username: str, password: str, *,
                           purpose: Literal["session", "token"] = "session", jkt: str | None = None) -> User:
        """The user whose password this is, under the login limit; InvalidCredentials or RateLimited.
        A device cookie of the account (:meth:`device_cookie`) that the request carries holds it to
        the cookie's own failure count, not to the account's lockout that strangers can cause.

        With a second factor on, the password alone is not enough: MfaRequired (401 ``mfa_required``)
        carries the ``mfa_token`` that :meth:`finish_login` takes with a code, for a login of
        ``purpose`` (by the DPoP key ``jkt``, when the token request sent a proof)."""
        return await self.deployment.factors.login(username, password, self.clients.address(request.scope),
                                                   purpose=purpose, jkt=jkt or "",
                                                   device_cookie=self.device.read(read_head(request.scope)))

    async def finish_login(self, request: Request, mfa_token: str, code: str, *,
                           purpose: Literal["session", "token"] = "session",
                           jkt: str | None = None) -> tuple[User, str]:
        """The second step of a login: the user of ``mfa_token`` if ``code`` (TOTP or recovery) is right,
        and how the login was made (``password+totp``), for :meth:`start_session` or :meth:`start_tokens`.
        401 ``token_invalid`` for a spent or expired token, 401 ``mfa_invalid`` for a wrong code
        (counted under the login limit), 429."""
        return await self.deployment.factors.finish(mfa_token, code, self.clients.address(request.scope),
                                                    purpose=purpose, jkt=jkt or "")

    async def start_session(self, request: Request, user: User, *, method: str = "password") -> tuple[Caller, str]:
        """A new cookie login for ``user``, ending the session the request carried: the caller and
        the ``Set-Cookie`` value that hands it to the browser.  ``method``: how the user logged in."""
        await decide(self._hooks.before_login(user, method), "before_login")
        cookie = await self.deployment.cookies.open(
            user.id, user.username, replace(self.clients.client(request.scope), method=method),
            replacing=self.cookie.read(read_head(request.scope)), password_hash=user.password_hash,
        )
        caller = self.authenticator.session_caller(await self.deployment.verifier.cookie(cookie))
        await observe(self._hooks.after_login(user, "cookie", caller.login.id, method), "after_login")
        return caller, self.cookie.set_header(cookie)

    async def dbsc_offer(self, caller: Caller) -> dict[str, str]:
        """The headers that offer a new cookie login's browser to bind it to a key of its own
        (``Secure-Session-Registration``, DBSC): add them to the login's answer.  None under ``--dbsc off``."""
        return {} if self.binding is None or caller.kind != "cookie" else await self.binding.offer(caller.login)

    async def token_key(self, request: Request) -> str | None:
        """At a token endpoint: the thumbprint of the key whose DPoP proof the request sends (the
        proof checked and its ``jti`` spent), or None without one.  InvalidDpopProof (400) for a bad
        proof, and for none under ``--dpop required``; under ``--dpop off`` every proof is ignored."""
        mode = self.options.dpop
        if mode == "off":
            return None
        try:
            proof = self.dpop.proof(read_head(request.scope))
            if proof is None:
                if mode == "required":
                    raise InvalidDpopProof("this deployment requires a DPoP proof with every token request")
                return None
            uri = self.authenticator.request_uri(request.scope)
            return (await self.deployment.verifier.proofs.verify(proof, method=request.method, uri=uri)).jkt
        except InvalidDpopProof as exc:
            exc.token_request = True
            raise

    def nonce_headers(self) -> dict[str, str]:
        """``DPoP-Nonce`` with the current server nonce, when the deployment asks proofs for one."""
        nonces = self.deployment.verifier.proofs.nonces
        return {"DPoP-Nonce": nonces.current()} if nonces is not None and self.options.dpop != "off" else {}

    async def start_tokens(self, request: Request, user: User, *, jkt: str | None = None,
                           method: str = "password") -> TokenPair:
        """A new token login for ``user``: a short access token and a rotating refresh token, bound
        to the client's key when ``jkt`` (:meth:`token_key`) is given.  ``method``: how the user logged in."""
        await decide(self._hooks.before_login(user, method), "before_login")
        client = replace(self.clients.client(request.scope), method=method)
        pair = await self.deployment.tokens.open(user.id, user.username, client, jkt=jkt,
                                                 password_hash=user.password_hash)
        await observe(self._hooks.after_login(user, "token", pair.login_id, method), "after_login")
        return pair

    async def refresh(self, refresh_token: str, *, jkt: str | None = None) -> TokenPair:
        """Spend a refresh token for a new pair (401 ``refresh_reused`` revokes the login); a bound
        one needs ``jkt``, its key's (:meth:`token_key`)."""
        return await self.deployment.tokens.refresh(refresh_token, jkt=jkt)

    async def end(self, login: Login) -> None:
        """End one login, cookie or token, on every node."""
        await self.deployment.logins.revoke(login.user_id, [login.id])
        await observe(self._hooks.after_logout(login.user_id, login.id), "after_logout")

    def clear_cookie(self) -> str:
        """The ``Set-Cookie`` value that makes the browser forget its session."""
        return self.cookie.clear_header()

    # -- the caller's logins and account ---------------------------------------------

    async def logins(self, caller: Caller) -> list[Login]:
        """The caller's live logins, cookie and token, oldest first."""
        return await self.deployment.logins.list(caller.user_id)

    async def end_one(self, caller: Caller, login_id: str) -> Login:
        """End one of the caller's logins by its id; NotFound when it is not theirs or not live."""
        login = await self.deployment.logins.get(caller.user_id, login_id[:64], fresh=True)
        if login is None:
            raise NotFound("no such login")
        await self.end(login)
        return login

    async def end_others(self, caller: Caller, *, including_this: bool = False) -> int:
        """End every other login of the caller (or every one); the count ended."""
        return await self.revoke_logins(caller.user_id, keep=None if including_this else caller.login.id)

    async def revoke_logins(self, user_id: str, *, keep: str | None = None) -> int:
        """End every login of a user (all but ``keep``), cookie and token, on every node; the count ended.

        For applications that keep their own users: call it when a password changes or an account goes.
        """
        return await self.deployment.logins.revoke_all(user_id, keep=keep)

    async def disable_user(self, username: str) -> int:
        """For an application's administrators: disable the account (every login of it ends on every
        node within the revocation bound; it cannot log in, refresh or reset until enabled, and a
        login with its right password answers 403 ``account_disabled``).  The count of logins ended."""
        return await self.deployment.accounts.disable(username)

    async def enable_user(self, username: str) -> None:
        """Enable an account :meth:`disable_user` disabled."""
        await self.deployment.accounts.enable(username)

    async def grant_role(self, username: str, role: str) -> tuple[str, ...]:
        """For administrators: give the user ``role``; the roles they have now."""
        return await self.deployment.accounts.grant_role(username, role)

    async def revoke_role(self, username: str, role: str) -> tuple[str, ...]:
        """For administrators: take ``role`` from the user (``require_role`` sees it at once)."""
        return await self.deployment.accounts.revoke_role(username, role)

    async def change_password(self, request: Request, caller: Caller, current: str, new: str) -> PasswordChanged:
        """Set a new password (the current one checked under the login limit); every other login
        ends.  The caller's own login stays; a session gets a new id (ASVS 7.2.4), so send the
        answer's ``set_cookie`` back, or the browser is logged out."""
        revoked = await self.deployment.accounts.change_password(
            caller.user_id, current, new, keep=caller.login.id, ip=self.clients.address(request.scope)
        )
        if caller.kind != "cookie":
            return PasswordChanged(revoked)
        return PasswordChanged(revoked, self.cookie.set_header(await self.deployment.cookies.renew(caller.login)))

    async def delete_account(self, request: Request, caller: Caller, password: str) -> int:
        """Delete the caller's account (the password checked under the login limit) and every login of it."""
        return await self.deployment.accounts.delete_confirmed(caller.user_id, password,
                                                               self.clients.address(request.scope),
                                                               login_id=caller.login.id)

    # -- second factors --------------------------------------------------------------

    async def second_factors(self, caller: Caller) -> tuple[str, ...]:
        """The second factors the caller's account has on (``totp``, ``recovery_code``); empty: none."""
        return await self.deployment.factors.methods(caller.user_id)

    def _totp_issuer(self) -> str:
        """What authenticator apps show the account under: the public host, else ``passgate``."""
        host = urlsplit(self.options.public_url).hostname if self.options.public_url else None
        return host or "passgate"

    async def enrol_totp(self, request: Request, caller: Caller, password: str) -> Enrolment:
        """A new TOTP secret and its ``otpauth://`` URI, pending until :meth:`confirm_totp` (the password
        checked under the login limit); 403 while TOTP is on."""
        return await self.deployment.factors.enrol(caller.user_id, password, self.clients.address(request.scope),
                                                   issuer=self._totp_issuer())

    async def pending_totp(self, caller: Caller) -> Enrolment | None:
        """The caller's TOTP enrolment that waits for its first code, to show again; None when there is none."""
        return await self.deployment.factors.pending(caller.user_id, issuer=self._totp_issuer())

    async def confirm_totp(self, caller: Caller, code: str) -> list[str]:
        """Turn the pending TOTP on with a first code; the ten recovery codes, shown this once."""
        return await self.deployment.factors.confirm(caller.user_id, code)

    async def disable_totp(self, request: Request, caller: Caller, password: str, code: str) -> None:
        """Turn TOTP off, behind the password and a code (TOTP or recovery), each under the login limit."""
        await self.deployment.factors.disable(caller.user_id, password, code, self.clients.address(request.scope))

    # -- passkeys -------------------------------------------------------------------

    def relying_party(self, request: Request) -> RelyingParty:
        """The site a passkey is for: ``--public-url``, else the request's own scheme and host (as the
        ``Origin`` check has it); its host is the relying party id (``localhost`` in development:
        WebAuthn refuses IP addresses)."""
        parts = urlsplit(site_origin(request.scope, self.options.public_url))
        host = parts.hostname or ""
        default = (parts.scheme, parts.port) in (("https", 443), ("http", 80))
        netloc = host if parts.port is None or default else f"{host}:{parts.port}"
        return RelyingParty(id=host, origin=f"{parts.scheme}://{netloc}", name=host or "passgate")

    async def passkey_options(self, request: Request, caller: Caller) -> dict[str, Any]:
        """The options of ``navigator.credentials.create()`` that add a passkey to the caller's account."""
        return await self.deployment.passkeys.registration_options(caller.user_id, caller.username,
                                                                   self.relying_party(request))

    async def add_passkey(self, request: Request, caller: Caller, credential: dict[str, Any],
                          name: str = "") -> Passkey:
        """Add the passkey that ``credential`` (``PublicKeyCredential.toJSON()``) made for
        :meth:`passkey_options`; 400 ``webauthn_failed`` when refused."""
        return await self.deployment.passkeys.register(caller.user_id, credential, name, self.relying_party(request))

    async def passkeys(self, caller: Caller) -> list[Passkey]:
        """The caller's passkeys, oldest first."""
        return await self.deployment.passkeys.owned(caller.user_id)

    async def remove_passkey(self, caller: Caller, passkey_id: str) -> Passkey:
        """Remove one of the caller's passkeys; NotFound when it is not theirs."""
        return await self.deployment.passkeys.remove(caller.user_id, passkey_id)

    async def passkey_login_options(self, request: Request) -> dict[str, Any]:
        """The options of ``navigator.credentials.get()`` for a login with any passkey of this site."""
        return await self.deployment.passkeys.login_options(self.relying_party(request),
                                                            self.clients.address(request.scope))

    async def passkey_login(self, request: Request, credential: dict[str, Any]) -> User:
        """The user whose passkey signed ``credential`` (``PublicKeyCredential.toJSON()``), for
        :meth:`start_session` or :meth:`start_tokens` with ``method="passkey"``: both factors at once.
        401 ``webauthn_failed`` (counted under the address's login limit), 429."""
        return await self.deployment.passkeys.login(credential, self.relying_party(request),
                                                    self.clients.address(request.scope))

    # -- the address, and a forgotten password ---------------------------------------

    def site_url(self, request: Request | None = None) -> str:
        """The deployment's public URL, for links in mail: ``--public-url``, else the deployment's
        issuer (fixed by its first node).  Never the request's ``Host``: anyone may send one, and a
        reset link to the sender's host would hand them the token (host-header poisoning)."""
        return self.options.public_url or self.deployment.signing.codec.issuer

    async def email_of(self, user_id: str) -> Email | None:
        """The account's address and whether it is verified (this node's memory of it is at most 1 s old)."""
        return await self.deployment.emails.get(user_id, cached=True)

    async def set_email(self, request: Request, caller: Caller, email: str, password: str) -> Email:
        """Give the caller's account a new address (the password checked under the login limit) and
        mail it a verification link."""
        return await self.deployment.accounts.set_email(
            caller.user_id, email, password, ip=self.clients.address(request.scope), base_url=self.site_url(request),
            login_id=caller.login.id,
        )

    async def verify_email(self, token: str) -> Email:
        """Spend a verification link's token (400 ``token_invalid`` / ``token_expired``)."""
        return await self.deployment.accounts.verify_email(token)

    async def forgot_password(self, request: Request, email: str) -> None:
        """Mail a reset link if a verified address is this one; the same answer, in the same time, if not."""
        await self.deployment.accounts.forgot_password(email, base_url=self.site_url(request))

    async def reset_password(self, token: str, new_password: str) -> int:
        """Spend a reset link's token: the password is set and every login of the account ends; the count ended."""
        return await self.deployment.accounts.reset_forgotten(token, new_password)

    # -- installing ------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        """Start the store listeners and key reloading with the app, stop them after."""
        await self.deployment.start()
        try:
            yield
        finally:
            await self.deployment.stop()

    def install(
        self, app: FastAPI, *, prefix: str = "/api", guard: Literal["passgate", "app"] = "passgate",
        routers: Collection[str] | None = None, signup: bool = True, body_limit: int = MAX_BODY,
        registration: type[Registration] = Registration,
    ) -> None:
        """Serve the JSON API under ``prefix``, problem+json errors, the JWKS, health and the guards.

        ``routers`` picks the API's parts (``logins``: ``/me`` and the device list, ``sessions``,
        ``tokens``, ``accounts``, ``email``, ``factors``: TOTP, ``passkeys``, ``admin``; all by default) and
        ``signup=False`` leaves registration out; ``registration``, a subclass of :class:`passgate.Registration`,
        adds the fields of the application's user model to ``POST /api/users`` (and to its OpenAPI schema).
        The guards (the body cap of ``body_limit`` bytes, the foreign-``Origin`` check, CORS, the
        metrics) cover passgate's own routes (``guard="passgate"``, the default: the app's routes
        pay nothing for them), or every request of the app (``guard="app"``).
        """
        if self.binding is not None:
            self.binding.prefix = prefix
        taken = {(r.path, m) for r in app.router.routes if isinstance(r, APIRoute) for m in r.methods or ()}
        self.registration = registration
        ours = [r for r in routes(self, prefix=prefix, routers=routers, signup=signup, registration=registration)
                if not {(r.path, m) for m in r.methods or ()} & taken]  # a path the app serves stays the app's
        whole_app = guard == "app"
        group = RouteGroup(ours, prefix=prefix, paths=SERVICE_PATHS,
                           wrap=None if whole_app else lambda inner: self._guarded(inner, prefix, body_limit))
        app.router.routes.insert(0, group)
        _document(app, group)
        document(app, cookie=self.cookie.name)
        problems.install(app)
        if whole_app:
            for middleware, options in reversed(self._guards(prefix, body_limit)):
                app.add_middleware(middleware, **options)

    def _guards(self, prefix: str, body_limit: int) -> list[tuple[Any, dict[str, Any]]]:
        """The guards, outermost first."""
        options = self.options
        guards: list[tuple[Any, dict[str, Any]]] = [
            (MetricsMiddleware, {"metrics": self.metrics}), (RequestGuardMiddleware, {"limit": body_limit}),
        ]
        if options.cors_origins:
            guards.append((ProblemCORSMiddleware, {
                "allow_origins": list(options.cors_origins), "allow_credentials": False,
                "allow_methods": ["GET", "POST", "PUT", "DELETE"],
                "allow_headers": ["Authorization", "Content-Type", "DPoP"],
                "expose_headers": ["WWW-Authenticate", "DPoP-Nonce"], "max_age": 600,
            }))
        guards.append((OriginGuardMiddleware, {"public_url": options.public_url, "cors_origins": options.cors_origins,
                                               "cors_paths": [prefix + p for p in TOKEN_PATHS]}))
        return guards

    def _guarded(self, inner: ASGIApp, prefix: str, body_limit: int) -> ASGIApp:
        for middleware, options in reversed(self._guards(prefix, body_limit)):
            inner = middleware(inner, **options)
        return inner

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


def _document(app: FastAPI, group: RouteGroup) -> None:
    """Put passgate's routes into the app's OpenAPI document: FastAPI documents the app's own list,
    where passgate's routes sit inside one group (FastAPI's documented way to extend the document)."""

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version, summary=app.summary,
                description=app.description, terms_of_service=app.terms_of_service, contact=app.contact,
                license_info=app.license_info, routes=[*group.routes, *app.routes], webhooks=app.webhooks.routes,
                tags=app.openapi_tags, servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
                external_docs=app.openapi_external_docs,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
