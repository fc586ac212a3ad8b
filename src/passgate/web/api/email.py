"""The account's address and a forgotten password: set and verify the address, ask for a reset
link, reset the password with it."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate.web import bodies
from passgate.web.api.views import email_body
from passgate.web.routing import AUTH_FAILURES, Endpoint, json_response
from passgate.web.schemas import Accepted, EmailChange, EmailView, ForgotPassword, MailedToken, PasswordReset

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def set_email(gate: "Gate", request: Request) -> Response:
    """Give the account a new address (unverified) and mail it a verification link: 202."""
    caller = await gate.caller(request)
    body = await bodies.read(request, EmailChange)
    email = await gate.set_email(request, caller, body.email, body.password)
    return json_response(email_body(email), status_code=202)


async def verify_email(gate: "Gate", request: Request) -> Response:
    """Spend the token of a verification link: the address is verified."""
    body = await bodies.read(request, MailedToken)
    await gate.verify_email(body.token)
    return Response(status_code=204)


async def forgot_password(gate: "Gate", request: Request) -> Response:
    """202 whether or not a verified address is this one; only if one is, a reset link is mailed to it."""
    body = await bodies.read(request, ForgotPassword)
    await gate.forgot_password(request, body.email)
    return json_response({}, status_code=202)  # the same answer for every address


async def reset_password(gate: "Gate", request: Request) -> Response:
    """Spend the token of a reset link: the password is set, every login of the account ends."""
    body = await bodies.read(request, PasswordReset)
    await gate.reset_password(body.token, body.new_password)
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("/me/email", set_email, ["PUT"], status_code=202, body=EmailChange, returns=EmailView,
             fails=(*AUTH_FAILURES, 403, 409, 429), auth="either"),
    Endpoint("/email/verify", verify_email, ["POST"], status_code=204, body=MailedToken, fails=(403, 409, 503)),
    Endpoint("/password/forgot", forgot_password, ["POST"], status_code=202, body=ForgotPassword,
             fails=(403, 429, 503), returns=Accepted),
    Endpoint("/password/reset", reset_password, ["POST"], status_code=204, body=PasswordReset, fails=(403, 429, 503)),
]
