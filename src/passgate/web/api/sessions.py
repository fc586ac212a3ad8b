"""Cookie sessions: log in, read the session, log out."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passgate.errors import AuthError
from passgate.web import bodies
from passgate.web.api.views import no_store, session_body
from passgate.web.routing import AUTH_FAILURES, Endpoint
from passgate.web.schemas import Credentials, SessionView

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def open_session(gate: "Gate", request: Request) -> Response:
    body = await bodies.read(request, Credentials)
    user = await gate.authenticate(request, body.username, body.password)
    caller, set_cookie = await gate.start_session(request, user)
    response = no_store(JSONResponse(session_body(caller)))
    response.headers["Set-Cookie"] = set_cookie
    response.headers.append("Set-Cookie", gate.device_cookie(user))
    return response


async def read_session(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    if caller.kind != "cookie":
        raise AuthError("this endpoint reads the session cookie")
    return no_store(JSONResponse(session_body(caller)))


async def close_session(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    if caller.kind != "cookie":
        raise AuthError("this endpoint ends the cookie session; use /api/token/revoke for tokens")
    await gate.end(caller.login)
    # Clear-Site-Data "cache": what the browser kept of the session's pages; the app's own cookies are its own.
    return Response(status_code=204, headers={"Set-Cookie": gate.clear_cookie(), "Clear-Site-Data": '"cache"'})


ENDPOINTS = [
    Endpoint("/session", open_session, ["POST"], body=Credentials, fails=(401, 403, 429, 503), returns=SessionView),
    Endpoint("/session", read_session, fails=AUTH_FAILURES, returns=SessionView, auth="cookie"),
    Endpoint("/session", close_session, ["DELETE"], status_code=204, fails=(*AUTH_FAILURES, 403), auth="cookie"),
]
