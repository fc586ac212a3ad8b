"""Token logins: a pair for a password, a new pair for a refresh token, revocation."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passgate.errors import AuthError
from passgate.web import bodies
from passgate.web.api.views import no_store, token_body
from passgate.web.routing import AUTH_FAILURES, Endpoint
from passgate.web.schemas import Credentials, MfaStep, RefreshRequest, TokenPairView

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def open_tokens(gate: "Gate", request: Request) -> Response:
    body = await bodies.read(request, Credentials)
    jkt = await gate.token_key(request)  # before the password: a bad proof costs no hash
    user = await gate.authenticate(request, body.username, body.password, purpose="token", jkt=jkt)
    pair = await gate.start_tokens(request, user, jkt=jkt)
    response = no_store(JSONResponse(token_body(pair), headers=gate.nonce_headers()))
    response.headers.append("Set-Cookie", gate.device_cookie(user))  # a client that keeps cookies is not locked out
    return response


async def finish_tokens(gate: "Gate", request: Request) -> Response:
    """A token login's second step: the ``mfa_token`` and a code (TOTP or recovery) answer the pair the
    login would have, bound to the DPoP proof's key as at ``POST /token`` (the same key as there, if it sent one)."""
    body = await bodies.read(request, MfaStep)
    jkt = await gate.token_key(request)
    user, method = await gate.finish_login(request, body.mfa_token, body.code, purpose="token", jkt=jkt)
    pair = await gate.start_tokens(request, user, jkt=jkt, method=method)
    response = no_store(JSONResponse(token_body(pair), headers=gate.nonce_headers()))
    response.headers.append("Set-Cookie", gate.device_cookie(user))
    return response


async def refresh(gate: "Gate", request: Request) -> Response:
    body = await bodies.read(request, RefreshRequest)
    jkt = await gate.token_key(request)
    pair = await gate.refresh(body.refresh_token, jkt=jkt)
    return no_store(JSONResponse(token_body(pair), headers=gate.nonce_headers()))


async def revoke_token(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    if caller.kind != "token":
        raise AuthError("send the access token to revoke")
    await gate.end(caller.login)
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("/token", open_tokens, ["POST"], body=Credentials, fails=(401, 403, 429, 503), returns=TokenPairView),
    Endpoint("/token/mfa", finish_tokens, ["POST"], body=MfaStep, fails=(400, 401, 403, 429, 503),
             returns=TokenPairView),
    Endpoint("/token/refresh", refresh, ["POST"], body=RefreshRequest, fails=(401, 403, 503), returns=TokenPairView),
    Endpoint("/token/revoke", revoke_token, ["POST"], status_code=204, fails=(*AUTH_FAILURES, 403), auth="token"),
]
