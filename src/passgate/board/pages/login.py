"""Logging in, registering and logging out, through the same flows as the JSON API."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate import CsrfFailed, Endpoint, PassgateError, RateLimited, StoreUnavailable, form_fields, http_status
from passgate.board.site import field, redirect, safe_next

if TYPE_CHECKING:
    from passgate.board.site import Board

EXPIRED = "The form expired. Please try again."


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
        _, set_cookie = await board.pg.start_session(request, user)
    except PassgateError as exc:
        status = http_status(exc) if isinstance(exc, RateLimited | StoreUnavailable) else 401
        return board.render(request, "login.html", None, status, next=target, username=username, error=exc.detail)
    return redirect(target, set_cookie, board.pg.device_cookie(user))


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
    Endpoint("/register", register_page),
    Endpoint("/register", register, ["POST"]),
    Endpoint("/logout", logout, ["POST"]),
]
