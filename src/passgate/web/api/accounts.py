"""Accounts: register, change the password, delete the account."""

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from passgate.dates import iso
from passgate.web import bodies
from passgate.web.api.views import email_body
from passgate.web.routing import AUTH_FAILURES, Endpoint
from passgate.web.schemas import NewUser, PasswordChange, PasswordConfirm, Registration

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def register(gate: "Gate", request: Request) -> dict[str, Any]:
    body = await bodies.read(request, gate.registration)
    fields = body.model_dump(exclude=set(Registration.model_fields))
    user = await gate.register(body.username, body.password, email=body.email, request=request, fields=fields)
    answer = {"id": user.id, "username": user.username, "created_at": iso(user.created_at)}
    if body.email is not None:
        answer |= email_body(await gate.email_of(user.id))
    return answer


async def change_password(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    body = await bodies.read(request, PasswordChange)
    changed = await gate.change_password(request, caller, body.current_password, body.new_password)
    return Response(status_code=204, headers={"Set-Cookie": changed.set_cookie} if changed.set_cookie else {})


async def delete_account(gate: "Gate", request: Request) -> Response:
    caller = await gate.caller(request)
    body = await bodies.read(request, PasswordConfirm)
    await gate.delete_account(request, caller, body.password)
    headers = {"Set-Cookie": gate.clear_cookie()} if caller.kind == "cookie" else {}
    return Response(status_code=204, headers=headers)


ENDPOINTS = [
    Endpoint("/users", register, ["POST"], status_code=201, body=Registration, fails=(403, 409, 429, 503),
             returns=NewUser),
    Endpoint("/me/password", change_password, ["PUT"], status_code=204, body=PasswordChange,
             fails=(*AUTH_FAILURES, 403, 429), auth="either"),
    Endpoint("/me", delete_account, ["DELETE"], status_code=204, body=PasswordConfirm,
             fails=(*AUTH_FAILURES, 403, 429), auth="either"),
]
