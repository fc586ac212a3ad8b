"""Administrators' routes: disable or enable an account, give or take a role.  Every one needs the
caller to have the role ``admin`` (``passgate user role add NAME admin`` gives the first)."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate.web.routing import AUTH_FAILURES, Endpoint, json_response
from passgate.web.schemas import AccountStateView, RolesView

if TYPE_CHECKING:
    from passgate.web.gate import Gate

ADMIN = "admin"


async def _admin(gate: "Gate", request: Request) -> None:
    await gate.require_role(ADMIN)(request)


async def disable(gate: "Gate", username: str, request: Request) -> Response:
    await _admin(gate, request)
    revoked = await gate.disable_user(username)
    return json_response({"username": username, "disabled": True, "revoked": revoked})


async def enable(gate: "Gate", username: str, request: Request) -> Response:
    await _admin(gate, request)
    await gate.enable_user(username)
    return json_response({"username": username, "disabled": False, "revoked": 0})


async def grant(gate: "Gate", username: str, role: str, request: Request) -> Response:
    await _admin(gate, request)
    return json_response({"username": username, "roles": list(await gate.grant_role(username, role))})


async def take(gate: "Gate", username: str, role: str, request: Request) -> Response:
    await _admin(gate, request)
    return json_response({"username": username, "roles": list(await gate.revoke_role(username, role))})


FAILS = (*AUTH_FAILURES, 403, 404)
ENDPOINTS = [
    Endpoint("/admin/users/{username}/disable", disable, ["POST"], fails=FAILS, returns=AccountStateView,
             auth="either"),
    Endpoint("/admin/users/{username}/enable", enable, ["POST"], fails=FAILS, returns=AccountStateView,
             auth="either"),
    Endpoint("/admin/users/{username}/roles/{role}", grant, ["PUT"], fails=(*FAILS, 422), returns=RolesView,
             auth="either"),
    Endpoint("/admin/users/{username}/roles/{role}", take, ["DELETE"], fails=(*FAILS, 422), returns=RolesView,
             auth="either"),
]
