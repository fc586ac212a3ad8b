"""Passkeys (WebAuthn): adding and removing them, and logging in with one (no username, no password).

The options endpoints answer the JSON forms that ``PublicKeyCredential.parseCreationOptionsFromJSON``
and ``parseRequestOptionsFromJSON`` take (under ``publicKey``); the others take the credential's
``toJSON()``.
"""

from typing import TYPE_CHECKING, Any, Literal

from fastapi import Query
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passgate.dates import iso
from passgate.identity.passkeys import Passkey
from passgate.web import bodies
from passgate.web.api.views import no_store, session_body, token_body
from passgate.web.routing import AUTH_FAILURES, Endpoint, json_response
from passgate.web.schemas import (
    CreationOptionsView,
    PasskeyAssertion,
    PasskeyRegistration,
    PasskeyView,
    RequestOptionsView,
    SessionView,
    TokenPairView,
)

if TYPE_CHECKING:
    from passgate.web.gate import Gate


def passkey_body(passkey: Passkey) -> dict[str, Any]:
    return {"id": passkey.id, "name": passkey.name, "created_at": iso(passkey.created_at),
            "last_used_at": None if passkey.last_used_at is None else iso(passkey.last_used_at),
            "transports": list(passkey.transports)}


async def register_options(gate: "Gate", request: Request) -> Response:
    """The options that add a passkey to the caller's account: a discoverable credential, user
    verification required, the account's own passkeys excluded; the challenge works once, for minutes."""
    caller = await gate.caller(request)
    return no_store(json_response(await gate.passkey_options(request, caller)))


async def register(gate: "Gate", request: Request) -> Response:
    """Add the passkey that ``navigator.credentials.create()`` made (its ``toJSON()``, with an optional
    ``name``); 400 ``webauthn_failed`` when it is refused (a spent challenge, another site, no user
    verification, a passkey registered already)."""
    caller = await gate.caller(request)
    data = await bodies.json_object(request)
    body = bodies.parse(PasskeyRegistration, data)
    passkey = await gate.add_passkey(request, caller, data, body.name or "")
    return no_store(json_response(passkey_body(passkey), status_code=201))


async def list_passkeys(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    return no_store(json_response([passkey_body(p) for p in await gate.passkeys(caller)]))


async def remove_passkey(gate: "Gate", passkey_id: str, request: Request) -> Response:
    """Remove one of the caller's passkeys: it logs in no more.  404 for another account's."""
    await gate.remove_passkey(await gate.caller(request), passkey_id)
    return Response(status_code=204)


async def login_options(gate: "Gate", request: Request) -> Response:
    """The options of a passkey login: any discoverable credential of this site, user verification required."""
    return no_store(json_response(await gate.passkey_login_options(request)))


async def login(gate: "Gate", request: Request,
                purpose: Literal["session", "token"] = Query("session", alias="as")) -> Response:
    """Log in with the passkey that signed ``navigator.credentials.get()``'s answer (its ``toJSON()``):
    both factors at once.  ``as=session`` answers as ``POST /api/session`` (a cookie), ``as=token``
    as ``POST /api/token`` (a pair, bound to the key of a DPoP proof if one is sent).  401
    ``webauthn_failed`` (counted under the address's login limit), 429."""
    data = await bodies.json_object(request)
    bodies.parse(PasskeyAssertion, data)
    if purpose == "token":
        jkt = await gate.token_key(request)  # before the passkey: a bad proof spends no challenge
        user = await gate.passkey_login(request, data)
        pair = await gate.start_tokens(request, user, jkt=jkt, method="passkey")
        response = no_store(JSONResponse(token_body(pair), headers=gate.nonce_headers()))
    else:
        user = await gate.passkey_login(request, data)
        caller, set_cookie = await gate.start_session(request, user, method="passkey")
        response = no_store(JSONResponse(session_body(caller), headers=await gate.dbsc_offer(caller)))
        response.headers["Set-Cookie"] = set_cookie
    response.headers.append("Set-Cookie", gate.device_cookie(user))
    return response


ENDPOINTS = [
    Endpoint("/webauthn/register/options", register_options, ["POST"], fails=(*AUTH_FAILURES, 403),
             returns=CreationOptionsView, auth="either"),
    Endpoint("/webauthn/register", register, ["POST"], status_code=201, body=PasskeyRegistration,
             fails=(*AUTH_FAILURES, 403), returns=PasskeyView, auth="either"),
    Endpoint("/me/passkeys", list_passkeys, fails=AUTH_FAILURES, returns=list[PasskeyView], auth="either"),
    Endpoint("/me/passkeys/{passkey_id}", remove_passkey, ["DELETE"], status_code=204,
             fails=(*AUTH_FAILURES, 403, 404), auth="either"),
    Endpoint("/webauthn/login/options", login_options, ["POST"], fails=(403, 429, 503), returns=RequestOptionsView),
    Endpoint("/webauthn/login", login, ["POST"], body=PasskeyAssertion, fails=(400, 401, 403, 429, 503),
             returns=SessionView | TokenPairView),
]
