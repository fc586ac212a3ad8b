"""The account's security: turning two-step login (TOTP) on, with a QR code and recovery codes
shown once, and off; passkeys listed and removed (``static/passkeys.js`` adds them through the API)."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import segno
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from passgate import Caller, Endpoint
from passgate.board.site import field, redirect

if TYPE_CHECKING:
    from passgate.board.site import Board

PAGE = "/account/security"
#: What a form of the page does for its caller.
Act = Callable[[Caller, FormData], Awaitable[Response]]


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG (segno: no image file, no script, nothing the CSP refuses)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff",
                                                title="QR code of the authenticator app's key")
    return Markup(svg)  # noqa: S704  (segno's own markup; the URI is escaped inside it)


async def show(board: "Board", request: Request, caller: Caller, status: int = 200, *, error: str | None = None,
               notice: str | None = None, codes: list[str] | None = None) -> Response:
    """The security page: what is on, the enrolment that waits for its first code (its QR code),
    and the recovery codes when they were just made."""
    methods = await board.pg.second_factors(caller)
    pending = None if methods else await board.pg.pending_totp(caller)
    return board.render(request, "security.html", caller, status, error=error, notice=notice, codes=codes,
                        totp="totp" in methods, recovery="recovery_code" in methods, pending=pending,
                        qr=qr_svg(pending.otpauth_uri) if pending else None, passkeys=await board.pg.passkeys(caller))


async def _refused(board: "Board", request: Request, caller: Caller, status: int, detail: str) -> Response:
    return await show(board, request, caller, status, error=detail)


#: What the page says after a change, by the query that the change redirects with.
NOTICES = {"off": "Two-step login is off.", "added": "The passkey is added.", "removed": "The passkey is removed."}


async def security_page(board: "Board", request: Request) -> Response:
    caller = await board.viewer(request)
    if caller is None:
        return redirect(f"/login?next={PAGE}")
    notice = next((text for key, text in NOTICES.items() if key in request.query_params), None)
    return await show(board, request, caller, notice=notice)


async def _form(board: "Board", request: Request, act: Act) -> Response:
    return await board.account_form(request, act, page=PAGE,
                                    refused=lambda r, c, status, detail: _refused(board, r, c, status, detail))


async def start_totp(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        await board.pg.enrol_totp(request, caller, field(form, "password"))
        return redirect(PAGE)  # the page shows the pending key and its QR code

    return await _form(board, request, act)


async def confirm_totp(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        codes = await board.pg.confirm_totp(caller, field(form, "code"))
        return await show(board, request, caller, notice="Two-step login is on.", codes=codes)

    return await _form(board, request, act)


async def stop_totp(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        await board.pg.disable_totp(request, caller, field(form, "password"), field(form, "code"))
        return redirect(f"{PAGE}?off=1")

    return await _form(board, request, act)


async def remove_passkey(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        await board.pg.remove_passkey(caller, field(form, "passkey_id"))
        return redirect(f"{PAGE}?removed=1")

    return await _form(board, request, act)


ENDPOINTS = [
    Endpoint(PAGE, security_page),
    Endpoint(f"{PAGE}/totp", start_totp, ["POST"]),
    Endpoint(f"{PAGE}/totp/confirm", confirm_totp, ["POST"]),
    Endpoint(f"{PAGE}/totp/off", stop_totp, ["POST"]),
    Endpoint(f"{PAGE}/passkeys/remove", remove_passkey, ["POST"]),
]
