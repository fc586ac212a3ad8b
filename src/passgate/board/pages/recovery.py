"""A forgotten password and the address: ``/forgot`` asks for a reset link, ``/reset`` spends one,
``/verify`` spends a verification link, ``/account/email`` sets the address.  The same flows as
the JSON API; the forms of anonymous visitors carry the pre-session form token."""

from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from passgate import Caller, Endpoint, PassgateError, form_fields, http_status
from passgate.board.site import field, redirect

if TYPE_CHECKING:
    from passgate.board.site import Board

EXPIRED = "The form expired. Please try again."
SENT = ("If an account has verified that address, a link to reset its password is on its way. "
        "It works once, for a short while.")


async def forgot_page(board: "Board", request: Request) -> Response:
    return board.render(request, "forgot.html", await board.viewer(request), forms=True, error=None, notice=None,
                        email="")


async def forgot(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    email, viewer = field(form, "email"), await board.viewer(request)
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "forgot.html", viewer, 403, forms=True, email=email, error=EXPIRED, notice=None)
    try:
        await board.pg.forgot_password(request, email)
    except PassgateError as exc:
        return board.render(request, "forgot.html", viewer, http_status(exc), forms=True, email=email,
                            error=exc.detail, notice=None)
    return board.render(request, "forgot.html", viewer, forms=True, email="", error=None, notice=SENT)


def same_origin_referrer(response: Response) -> Response:
    """A page whose URL holds a link's token hands it to no other site (OWASP: the Referer of a
    reset page).  ``same-origin``, not ``no-referrer``, under which the browser would send the
    form's POST with ``Origin: null`` and the CSRF guard would refuse it."""
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def reset_page(board: "Board", request: Request, token: str = "") -> Response:
    return same_origin_referrer(board.render(request, "reset.html", await board.viewer(request), forms=True,
                                    token=token[:128], error=None))


async def reset(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    token, viewer = field(form, "token")[:128], await board.viewer(request)
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "reset.html", viewer, 403, forms=True, token=token, error=EXPIRED)
    try:
        ended = await board.pg.reset_password(token, field(form, "new_password"))
    except PassgateError as exc:
        return board.render(request, "reset.html", viewer, http_status(exc), forms=True, token=token,
                            error=exc.detail)
    message = f"Your password is set. {ended} login{'s' if ended != 1 else ''} of your account ended: log in again."
    return board.render(request, "message.html", None, message=message, link=("/login", "Log in"))


async def verify_page(board: "Board", request: Request, token: str = "") -> Response:
    # A mail scanner may open the link: it is spent only by the button's POST.
    return same_origin_referrer(board.render(request, "verify.html", await board.viewer(request), forms=True,
                                    token=token[:128], error=None))


async def verify(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    token, viewer = field(form, "token")[:128], await board.viewer(request)
    if not board.pg.form_tokens.check(request, field(form, "csrf_token")):
        return board.render(request, "verify.html", viewer, 403, forms=True, token=token, error=EXPIRED)
    try:
        email = await board.pg.verify_email(token)
    except PassgateError as exc:
        return board.render(request, "verify.html", viewer, http_status(exc), forms=True, token=token,
                            error=exc.detail)
    return board.render(request, "message.html", viewer, message=f"{email.address} is verified.",
                        link=("/account", "Your account") if viewer else ("/login", "Log in"))


async def set_email(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        await board.pg.set_email(request, caller, field(form, "email"), field(form, "password"))
        return redirect("/account?mailed=1")

    return await board.account_form(request, act)


ENDPOINTS = [
    Endpoint("/forgot", forgot_page),
    Endpoint("/forgot", forgot, ["POST"]),
    Endpoint("/reset", reset_page),
    Endpoint("/reset", reset, ["POST"]),
    Endpoint("/verify", verify_page),
    Endpoint("/verify", verify, ["POST"]),
    Endpoint("/account/email", set_email, ["POST"]),
]
