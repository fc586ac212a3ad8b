"""The caller and their logins: ``/api/me`` and the device list."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate.web.api.views import login_body, me_body, no_store
from passgate.web.routing import AUTH_FAILURES, EncodedResponse, Endpoint, json_response
from passgate.web.schemas import LoginView, MeView

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def me(gate: "Gate", request: Request) -> Response:
    # A GET needs no CSRF check, and a caller the caches vouch for has its username: no await.
    caller = gate.authenticator.known(request.scope) or await gate.caller(request)
    known, email = gate.deployment.emails.cached(caller.user_id)
    if not known:
        email = await gate.email_of(caller.user_id)
    return EncodedResponse(me_body(caller.user_id, caller.username, caller.kind, caller.login.id,
                                   email.address if email else None, bool(email and email.verified),
                                   caller.bound))


async def list_logins(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    return no_store(json_response([login_body(login, caller) for login in await gate.logins(caller)]))


async def revoke_login(gate: "Gate", login_id: str, request: Request) -> Response:
    await gate.end_one(await gate.caller(request), login_id)
    return Response(status_code=204)


async def revoke_logins(gate: "Gate", request: Request, include_current: str = "false") -> Response:
    caller = await gate.caller(request)
    everything = include_current == "true"
    await gate.end_others(caller, including_this=everything)
    headers = {"Set-Cookie": gate.clear_cookie()} if everything and caller.kind == "cookie" else {}
    return Response(status_code=204, headers=headers)


ENDPOINTS = [
    # The hottest route: served bare (no dependency solving, no serialisation).
    Endpoint("/me", me, bare=True, fails=AUTH_FAILURES, returns=MeView, auth="either"),
    Endpoint("/sessions", list_logins, fails=AUTH_FAILURES, returns=list[LoginView], auth="either"),
    Endpoint("/sessions/{login_id}", revoke_login, ["DELETE"], status_code=204, fails=(*AUTH_FAILURES, 403, 404),
             auth="either"),
    Endpoint("/sessions", revoke_logins, ["DELETE"], status_code=204, fails=(*AUTH_FAILURES, 403), auth="either"),
]
