"""Second factors: turning TOTP on (a secret, then a first code) and off."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from passgate.web import bodies
from passgate.web.api.views import no_store
from passgate.web.routing import AUTH_FAILURES, Endpoint
from passgate.web.schemas import PasswordConfirm, RecoveryCodesView, TotpCode, TotpEnrolmentView, TotpRemoval

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def enrol_totp(gate: "Gate", request: Request) -> Response:
    """A new TOTP secret and its ``otpauth://`` URI (for the QR code), pending until confirmed by a
    first code; the password is checked under the login limit.  403 while TOTP is on."""
    caller = await gate.caller(request)
    body = await bodies.read(request, PasswordConfirm)
    enrolment = await gate.enrol_totp(request, caller, body.password)
    return no_store(JSONResponse({"secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri}))


async def confirm_totp(gate: "Gate", request: Request) -> Response:
    """Turn the pending TOTP on with a first code: the ten recovery codes, each usable once, shown this once."""
    caller = await gate.caller(request)
    body = await bodies.read(request, TotpCode)
    return no_store(JSONResponse({"recovery_codes": await gate.confirm_totp(caller, body.code)}))


async def disable_totp(gate: "Gate", request: Request) -> Response:
    """Turn TOTP off, behind the password and a code (TOTP or recovery), each under the login limit."""
    caller = await gate.caller(request)
    body = await bodies.read(request, TotpRemoval)
    await gate.disable_totp(request, caller, body.password, body.code)
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("/me/totp", enrol_totp, ["POST"], body=PasswordConfirm, fails=(*AUTH_FAILURES, 403, 429),
             returns=TotpEnrolmentView, auth="either"),
    Endpoint("/me/totp/confirm", confirm_totp, ["POST"], body=TotpCode, fails=(*AUTH_FAILURES, 403, 404),
             returns=RecoveryCodesView, auth="either"),
    Endpoint("/me/totp", disable_totp, ["DELETE"], status_code=204, body=TotpRemoval,
             fails=(*AUTH_FAILURES, 403, 404, 429), auth="either"),
]
