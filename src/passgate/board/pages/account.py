"""The account: one's logins (and ending them), the password, deleting the account."""

import contextlib
from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from passgate import Caller, Endpoint, PassgateError, form_fields
from passgate.board.site import field, redirect

if TYPE_CHECKING:
    from passgate.board.site import Board


async def sessions_page(board: "Board", request: Request) -> Response:
    caller = await board.viewer(request)
    if caller is None:
        return redirect("/login?next=/account/sessions")
    return board.render(request, "sessions.html", caller, logins=await board.pg.logins(caller))


async def revoke_sessions(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    try:
        caller = await board.form_caller(request, form)
    except PassgateError:
        return redirect("/login?next=/account/sessions")
    which = field(form, "login_id")
    if which == "others":
        await board.pg.end_others(caller)
    elif which:
        with contextlib.suppress(PassgateError):  # gone already, or not the caller's: the list shows what is left
            await board.pg.end_one(caller, which)
        if which == caller.login.id:
            return redirect("/", board.pg.clear_cookie())
    return redirect("/account/sessions")


async def account_page(board: "Board", request: Request, changed: int | None = None,
                       mailed: int | None = None) -> Response:
    caller = await board.viewer(request)
    if caller is None:
        return redirect("/login?next=/account")
    notice = None
    if changed is not None:
        notice = f"Password changed. {changed} other login{'s' if changed != 1 else ''} ended."
    if mailed is not None:
        notice = "A link to verify the address is on its way to it."
    return await board.account(request, caller, notice=notice)


async def change_password(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        changed = await board.pg.change_password(request, caller, field(form, "current_password"),
                                                 field(form, "new_password"))
        return redirect(f"/account?changed={changed.revoked}", *filter(None, [changed.set_cookie]))

    return await board.account_form(request, act)


async def delete_account(board: "Board", request: Request) -> Response:
    async def act(caller: Caller, form: FormData) -> Response:
        await board.pg.delete_account(request, caller, field(form, "password"))
        return redirect("/", board.pg.clear_cookie())

    return await board.account_form(request, act)


ENDPOINTS = [
    Endpoint("/account/sessions", sessions_page),
    Endpoint("/account/sessions/revoke", revoke_sessions, ["POST"]),
    Endpoint("/account", account_page),
    Endpoint("/account/password", change_password, ["POST"]),
    Endpoint("/account/delete", delete_account, ["POST"]),
]
