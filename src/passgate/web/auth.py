"""Who is calling: the one place a request's credential becomes a :class:`Caller`.

A request that sends ``Authorization`` is judged by it alone; otherwise by the session cookie.
Cookie callers must prove unsafe requests with the CSRF token and, when sent, a same-site Origin.
A DPoP-bound token (``Authorization: DPoP``) comes with a proof of its key, checked on every
request: such a caller is never settled from the caches alone.  A cookie login bound to the
browser's key (DBSC, ``--dbsc on``) also needs its short-lived bound cookie (an HMAC check).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import Scope

from passgate.credentials.records import Kind, Login
from passgate.credentials.verifier import Verifier
from passgate.errors import AuthError, CsrfFailed, TokenInvalid
from passgate.transports import BearerTransport, CookieTransport, DpopTransport, RequestHead, read_head, sole_credential
from passgate.web.csrf import SessionCsrf
from passgate.web.dbsc import DeviceBinding
from passgate.web.middleware import UNSAFE, site_origin

_RESOLVED = "passgate.caller"
#: In the scope under _RESOLVED: the caches could not settle the caller, so :meth:`Authenticator.known`
#: need not look again; :meth:`Authenticator.caller` takes the long way.
_UNSETTLED: tuple[None, None] = (None, None)


class Caller:
    """The authenticated caller of a request (read it, do not change it).

    A plain slotted class, not a frozen dataclass: one is built on every authenticated request,
    and a frozen dataclass's ``__init__`` costs four times as much.
    """

    __slots__ = ("_csrf", "bound", "jkt", "kind", "login", "roles", "user_id", "username")

    def __init__(
        self, user_id: str, username: str, kind: Kind, login: Login, csrf: Callable[[Login], str] | None = None,
        jkt: str | None = None, roles: tuple[str, ...] | None = None,
    ) -> None:
        self.user_id = user_id
        self.username = username
        #: How the caller logged in: ``"cookie"`` (a session) or ``"token"`` (a bearer token).
        self.kind: Kind = kind
        #: The login record behind the credential (as :meth:`Passgate.logins` lists them).
        self.login = login
        self._csrf = csrf
        #: The thumbprint of the key that a DPoP-bound token (or a device-bound session, DBSC) is bound
        #: to, which this request proved it holds (a fresh proof; the bound cookie that only a signed
        #: challenge renews); None for a bearer token or an unbound cookie.
        self.jkt = jkt
        #: Whether the credential is bound to a key of the client's (DPoP, or DBSC for a cookie).
        self.bound = jkt is not None
        #: The user's roles, read from the database by ``require_role`` (or :meth:`Passgate.roles_of`);
        #: None until then: no request pays for them unless it asks.
        self.roles = roles

    def __repr__(self) -> str:
        return (f"Caller(user_id={self.user_id!r}, username={self.username!r}, kind={self.kind!r}, "
                f"bound={self.bound!r})")

    def with_username(self, username: str) -> Caller:
        return Caller(self.user_id, username, self.kind, self.login, self._csrf, self.jkt, self.roles)

    @property
    def session_id(self) -> str:
        """The login's public id (as ``/api/sessions`` lists it); never the cookie's secret."""
        return self.login.id

    @property
    def csrf_token(self) -> str | None:
        """The session's CSRF token (cookie callers only)."""
        return self._csrf(self.login) if self._csrf is not None else None


class Authenticator:
    def __init__(
        self, verifier: Verifier, *, cookie: CookieTransport, bearer: BearerTransport, csrf: SessionCsrf,
        public_url: str | None, dpop: DpopTransport | None = None, binding: DeviceBinding | None = None,
    ) -> None:
        """``dpop``: None when the deployment takes no DPoP-bound tokens (``--dpop off``); ``binding``:
        None when it binds no cookie login to a browser's key (``--dbsc off``)."""
        self.verifier, self.cookie, self.bearer, self.csrf = verifier, cookie, bearer, csrf
        self.public_url = public_url
        self.dpop = dpop
        self.binding = binding
        self._csrf_of = csrf.token  # bound once: a session caller is built on every cookie request

    def _credentials(self, head: RequestHead) -> tuple[str | None, str | None, str | None]:
        """The DPoP-bound token, the bearer token, or else the session cookie, that the request sends.

        Bearer is asked first, so that a bearer request pays nothing for DPoP: its transport refuses
        any other scheme, and only then is the DPoP scheme looked for."""
        try:
            token = self.bearer.read(head)
        except TokenInvalid:
            bound = self.dpop.read(head) if self.dpop is not None else None
            if bound is None:
                raise
            return bound, None, None
        return None, token, (self.cookie.read(head) if token is None else None)

    def request_uri(self, scope: Scope) -> str:
        """The URI the client addressed, as a DPoP proof names it (``htu``): ``--public-url``, else the
        request's own scheme and host, and the path."""
        origin = self.public_url or f"{scope.get('scheme', 'http')}://{read_head(scope).host}"
        path: str = scope["path"]
        return origin + path

    def known(self, scope: Scope) -> Caller | None:
        """The caller if it is settled without waiting: resolved earlier in this request, or a
        credential whose login this node's caches vouch for.  None: ask :meth:`caller`.

        It runs on every request that asks for its caller, so it tries the shortest way first: the
        request's one credential header, exactly as sent before (:meth:`Verifier.seen`)."""
        resolved: tuple[Caller | None, AuthError | None] | None = scope.get(_RESOLVED)
        if resolved is not None:
            return resolved[0]
        sole = sole_credential(scope["headers"])
        caller = None if sole is None else self._seen(*sole)
        if caller is None:
            caller = self._vouched(scope, sole)
        # In the scope itself: Starlette's request.state costs µs per look.
        scope[_RESOLVED] = _UNSETTLED if caller is None else (caller, None)
        return caller

    def _seen(self, is_token: bool, header: bytes) -> Caller | None:
        login = self.verifier.seen(is_token, header)
        if login is None:
            return None
        if is_token:
            return Caller(login.user_id, login.username, "token", login)
        return Caller(login.user_id, login.username, "cookie", login, self._csrf_of)

    def _vouched(self, scope: Scope, sole: tuple[bool, bytes] | None) -> Caller | None:
        """The caller when the recognition caches and the login cache vouch for its credential; the
        header it came in is then remembered for :meth:`Verifier.seen`."""
        head = read_head(scope)
        bound, token, cookie = self._credentials(head)
        if bound is not None:
            return None  # the proof is checked, its jti spent, on every request: never settled from the caches
        if token is not None:
            login = self.verifier.bearer_now(token, sole[1] if sole is not None and sole[0] else None)
            return None if login is None else Caller(login.user_id, login.username, "token", login)
        if cookie is not None:
            login = self.verifier.cookie_now(cookie, sole[1] if sole is not None and not sole[0] else None)
            return None if login is None else self.session_caller(login, head)
        return None

    async def _resolve(self, scope: Scope) -> Caller | None:
        head = read_head(scope)
        bound, token, cookie = self._credentials(head)
        if bound is not None:
            assert self.dpop is not None
            login, jkt = await self.verifier.dpop(
                bound, self.dpop.proof(head), method=scope["method"], uri=self.request_uri(scope)
            )
            return Caller(login.user_id, login.username, "token", login, jkt=jkt)
        if token is not None:
            login = await self.verifier.bearer(token)
            return Caller(login.user_id, login.username, "token", login)
        if cookie is None:
            return None
        return self.session_caller(await self.verifier.cookie(cookie), head)

    def session_caller(self, login: Login, head: RequestHead | None = None) -> Caller:
        """The caller of a cookie login; with ``head``, a login bound to the browser's key (DBSC) needs
        the request's bound cookie (BoundCookieRequired otherwise)."""
        if login.jkt and self.binding is not None:
            if head is not None:
                self.binding.check(head, login)
            return Caller(login.user_id, login.username, "cookie", login, self._csrf_of, login.jkt)
        return Caller(login.user_id, login.username, "cookie", login, self._csrf_of)

    async def caller(self, request: Request, *, required: bool) -> Caller | None:
        """The caller, resolved once per request; AuthError when required and absent."""
        scope = request.scope
        resolved: tuple[Caller | None, AuthError | None] | None = scope.get(_RESOLVED)
        if resolved is None or resolved is _UNSETTLED:
            try:
                resolved = (self.known(scope) or await self._resolve(scope), None)
            except AuthError as exc:
                resolved = (None, exc)
            scope[_RESOLVED] = resolved
        caller, error = resolved
        if required and caller is None:
            raise error or AuthError("log in or send a bearer token")
        return caller

    def check_csrf(self, request: Request, caller: Caller, form_token: str | None = None) -> None:
        """For cookie callers' unsafe requests: the session's CSRF token and a same-site Origin."""
        if caller.kind != "cookie" or request.scope["method"] not in UNSAFE:
            return
        head = read_head(request.scope)
        if not self.csrf.check(caller.login, head.csrf_token or form_token):
            raise CsrfFailed("missing or wrong CSRF token")
        origin = head.origin
        if origin is not None and origin.lower().rstrip("/") != site_origin(request.scope, self.public_url):
            raise CsrfFailed("cross-site request refused")

