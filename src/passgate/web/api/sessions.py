"""Cookie sessions: log in, read the session, log out."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passgate.errors import AuthError
from passgate.identity.users import User
from passgate.web import bodies
from passgate.web.api.views import no_store, session_body
from passgate.web.routing import AUTH_FAILURES, Endpoint
from passgate.web.schemas import Credentials, MfaStep, SessionView

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def open_session(gate: "Gate", request: Request) -> Response:
    """Log in with a cookie; with a second factor on, 401 ``mfa_required`` with an ``mfa_token`` and no cookie."""
    body = await bodies.read(request, Credentials)
    user = await gate.authenticate(request, body.username, body.password)
    return await _session(gate, request, user, "password")


async def finish_session(gate: "Gate", request: Request) -> Response:
    """A cookie login's second step: the ``mfa_token`` and a code (TOTP or recovery) answer what the
    login would have answered."""
    body = await bodies.read(request, MfaStep)
    user, method = await gate.finish_login(request, body.mfa_token, body.code, purpose="session")
    return await _session(gate, request, user, method)


async def _session(gate: "Gate", request: Request, user: User, method: str) -> Response:
    caller, set_cookie = await gate.start_session(request, user, method=method)
    response = no_store(JSONResponse(session_body(caller), headers=await gate.dbsc_offer(caller)))
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
    response = Response(status_code=204, headers={"Set-Cookie": gate.clear_cookie(), "Clear-Site-Data": '"cache"'})
    if gate.binding is not None:  # the browser's next request refreshes, and the refresh's 401 ends its DBSC session
        response.headers.append("Set-Cookie", gate.binding.cookie.clear_header())
    return response


ENDPOINTS = [
    Endpoint("/session", open_session, ["POST"], body=Credentials, fails=(401, 403, 429, 503), returns=SessionView),
    Endpoint("/session/mfa", finish_session, ["POST"], body=MfaStep, fails=(401, 403, 429, 503), returns=SessionView),
    Endpoint("/session", read_session, fails=AUTH_FAILURES, returns=SessionView, auth="cookie"),
    Endpoint("/session", close_session, ["DELETE"], status_code=204, fails=(*AUTH_FAILURES, 403), auth="cookie"),
]
