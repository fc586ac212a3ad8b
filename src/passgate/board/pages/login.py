"""Logging in, registering and logging out, through the same flows as the JSON API."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate import (
    CsrfFailed,
    Endpoint,
    MfaRequired,
    MfaTokenInvalid,
    PassgateError,
    RateLimited,
    StoreUnavailable,
    form_fields,
    http_status,
)
from passgate.board.site import field, redirect, safe_next

if TYPE_CHECKING:
    from passgate.board.site import Board

EXPIRED = "The form expired. Please try again."
STALE = "That login took too long, or was finished already. Please log in again."


async def login_page(board: "Board", request: Request, next: str = "/") -> Response:
    return board.render(request, "login.html", await board.viewer(request), next=safe_next(next), error=None,
                        username="")


async def login(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    username, target = field(form, "username"), safe_next(field(form, "next") or "/")
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "login.html", None, 403, next=target, username=username, error=EXPIRED)
    try:
        user = await board.pg.authenticate(request, username, field(form, "password"))
        caller, set_cookie = await board.pg.start_session(request, user)
        offer = await board.pg.dbsc_offer(caller)
    except MfaRequired as exc:
        return code_step(board, request, exc.mfa_token, target)
    except PassgateError as exc:
        status = http_status(exc) if isinstance(exc, RateLimited | StoreUnavailable) else 401
        return board.render(request, "login.html", None, status, next=target, username=username, error=exc.detail)
    return _offered(redirect(target, set_cookie, board.pg.device_cookie(user)), offer)


def _offered(response: Response, offer: dict[str, str]) -> Response:
    """A login's answer with the offer to bind the session to the browser's key (``--dbsc on``)."""
    response.headers.update(offer)
    return response


def code_step(board: "Board", request: Request, mfa_token: str, target: str, status: int = 200, *,
              error: str | None = None) -> Response:
    """The second step of a login: the password was right; a code of the second factor is due."""
    return board.render(request, "login_code.html", None, status, mfa_token=mfa_token, next=target, error=error)


async def login_code(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    mfa_token, target = field(form, "mfa_token"), safe_next(field(form, "next") or "/")
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "login.html", None, 403, next=target, username="", error=EXPIRED)
    try:
        user, method = await board.pg.finish_login(request, mfa_token, field(form, "code"))
        caller, set_cookie = await board.pg.start_session(request, user, method=method)
        offer = await board.pg.dbsc_offer(caller)
    except MfaTokenInvalid:
        return board.render(request, "login.html", None, 401, next=target, username="", error=STALE)
    except PassgateError as exc:
        return code_step(board, request, mfa_token, target, http_status(exc), error=exc.detail)
    return _offered(redirect(target, set_cookie, board.pg.device_cookie(user)), offer)


async def register_page(board: "Board", request: Request) -> Response:
    return board.render(request, "register.html", await board.viewer(request), error=None, username="", email="")


async def register(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    username, password, email = field(form, "username"), field(form, "password"), field(form, "email").strip()
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "register.html", None, 403, username=username, email=email, error=EXPIRED)
    try:
        user = await board.pg.register(username, password, email=email or None, request=request)
        _, set_cookie = await board.pg.start_session(request, user)
    except PassgateError as exc:
        return board.render(request, "register.html", None, http_status(exc), username=username, email=email,
                            error=exc.detail)
    return redirect("/", set_cookie)


async def logout(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    try:
        caller = await board.form_caller(request, form)
    except CsrfFailed:
        return redirect("/")  # the login stays; the page it lands on carries a fresh token
    except PassgateError:
        return redirect("/", board.pg.clear_cookie())
    await board.pg.end(caller.login)
    response = redirect("/", board.pg.clear_cookie())
    # Not "cookies": that would take the device cookie, which must outlive the session (OWASP's
    # device cookies) or the next login from this browser is a stranger's again.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


ENDPOINTS = [
    Endpoint("/login", login_page),
    Endpoint("/login", login, ["POST"]),
    Endpoint("/login/code", login_code, ["POST"]),
    Endpoint("/register", register_page),
    Endpoint("/register", register, ["POST"]),
    Endpoint("/logout", logout, ["POST"]),
]
