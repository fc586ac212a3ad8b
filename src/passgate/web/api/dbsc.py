"""Device-bound sessions (DBSC, ``--dbsc on``): the registration and refresh endpoints the browser calls.

Both are authenticated by the session cookie and a proof of the browser's key, never by the CSRF
token (the browser sends none): the proof of a challenge that only this login was given is what no
other site can forge.  Under ``--dbsc off`` they answer 404.
"""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate.credentials.records import Login
from passgate.errors import AuthError, InvalidDbscProof, NotFound, SessionRevoked
from passgate.transports import read_head
from passgate.web.api.views import no_store
from passgate.web.dbsc import DeviceBinding, sf_string
from passgate.web.routing import Endpoint, json_response
from passgate.web.schemas import DbscSessionView

if TYPE_CHECKING:
    from passgate.web.gate import Gate

_RESPONSE, _SESSION_ID = b"secure-session-response", b"sec-secure-session-id"


async def _login(gate: "Gate", request: Request) -> tuple[DeviceBinding, Login]:
    """The deployment's DBSC face and the live cookie login the request's session cookie holds."""
    if gate.binding is None:
        raise NotFound("this deployment binds no sessions to devices (--dbsc off)")
    cookie = gate.cookie.read(read_head(request.scope))
    if cookie is None:
        raise AuthError("log in first: a device-bound session starts from a session cookie")
    login = await gate.deployment.cookies.find(cookie)
    if login is None:
        raise SessionRevoked("the session has ended or was never valid")
    return gate.binding, login


def _answer(binding: DeviceBinding, login: Login) -> Response:
    response = no_store(json_response(binding.config(login)))
    response.headers["Set-Cookie"] = binding.set_cookie(login)
    return response


async def register_device(gate: "Gate", request: Request) -> Response:
    """Bind the session to the browser's key: ``Secure-Session-Response`` is a proof (``typ: dbsc+jwt``,
    the public ``jwk``, ``jti``: the challenge of this login's ``Secure-Session-Registration``).  Answers
    the session config and the short-lived bound cookie."""
    binding, login = await _login(gate, request)
    proof = sf_string(read_head(request.scope).first(_RESPONSE))
    if proof is None:
        raise InvalidDbscProof("the registration sent no proof")
    return _answer(binding, await binding.sessions.register(login, proof))


async def refresh_device(gate: "Gate", request: Request) -> Response:
    """A fresh bound cookie for a device-bound session (``Sec-Secure-Session-Id``): 403 ``dbsc_challenge``
    with ``Secure-Session-Challenge`` until ``Secure-Session-Response`` signs a live challenge with the
    session's key."""
    binding, login = await _login(gate, request)
    head = read_head(request.scope)
    if sf_string(head.first(_SESSION_ID)) != login.id:
        raise InvalidDbscProof("Sec-Secure-Session-Id names another session than the cookie's")
    await binding.sessions.refresh(login, sf_string(head.first(_RESPONSE)))
    return _answer(binding, login)


ENDPOINTS = [
    Endpoint("/session/dbsc/register", register_device, ["POST"], fails=(401, 404, 503), returns=DbscSessionView),
    Endpoint("/session/dbsc/refresh", refresh_device, ["POST"], fails=(401, 403, 404, 503), returns=DbscSessionView),
]
