"""The JSON API under ``/api``: users, cookie sessions, tokens, the caller and their logins."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from passgate.credentials.manager import Client, TokenPair
from passgate.credentials.records import Login
from passgate.errors import AuthError, NotFound
from passgate.web import bodies
from passgate.web.auth import Caller
from passgate.web.routing import BareRoute, Encoded, EncodedResponse
from passgate.web.schemas import Credentials, PasswordChange, PasswordConfirm, RefreshRequest, documented

if TYPE_CHECKING:
    from passgate.web.app import Passgate


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def client_of(request: Request) -> Client:
    return Client(request.headers.get("user-agent", "")[:200], request.client.host if request.client else "")


def ip_of(request: Request) -> str:
    return request.client.host if request.client else ""


def session_body(caller: Caller) -> dict[str, Any]:
    login = caller.login
    return {
        "user": {"id": caller.user_id, "username": caller.username}, "csrf_token": caller.csrf_token,
        "expires_at": iso(login.expires_at), "idle_expires_at": iso(login.idle_expires_at),
    }


def token_body(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token, "token_type": "Bearer", "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token, "refresh_expires_in": pair.refresh_expires_in,
    }


def login_body(login: Login, current: Caller) -> dict[str, Any]:
    return {
        "id": login.id, "kind": login.kind, "created_at": iso(login.created_at),
        "last_seen_at": iso(login.last_seen_at), "expires_at": iso(login.ends_at),
        "user_agent": login.user_agent, "ip": login.ip, "current": login.id == current.login.id,
    }


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@functools.lru_cache(maxsize=50_000)
def me_body(user_id: str, username: str, auth: str, session_id: str) -> Encoded:
    """``GET /api/me``'s body, encoded once per login: the same caller asks again and again."""
    return Encoded.of({"id": user_id, "username": username, "auth": auth, "session_id": session_id})


def build_router(pg: Passgate, *, prefix: str = "") -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["passgate"])
    accounts, manager = pg.deployment.accounts, pg.deployment.manager

    async def me(request: Request) -> Response:
        # A GET needs no CSRF check, and a caller the caches vouch for has its username: no await.
        caller = pg.authenticator.known(request.scope) or await pg.caller(request)
        return EncodedResponse(me_body(caller.user_id, caller.username, caller.auth, caller.login.id))

    # The hottest route: matched first and served bare (no dependency solving, no serialisation).
    router.add_api_route("/me", me, methods=["GET"], route_class_override=BareRoute)

    @router.post("/users", status_code=201, openapi_extra=documented(Credentials))
    async def register(request: Request) -> dict[str, Any]:
        body = await bodies.read(request, Credentials)
        user = await accounts.register(body.username, body.password)
        return {"id": user.id, "username": user.username, "created_at": iso(user.created_at)}

    @router.post("/session", openapi_extra=documented(Credentials))
    async def open_session(request: Request) -> Response:
        body = await bodies.read(request, Credentials)
        user = await accounts.authenticate(body.username, body.password, ip_of(request))
        cookie = await manager.open_session(
            user.id, user.username, client_of(request), replacing=pg.session_cookie(request)
        )
        caller = await pg.session_caller(cookie)
        response = no_store(JSONResponse(session_body(caller)))
        response.headers["Set-Cookie"] = pg.cookie.set_header(cookie)
        return response

    @router.get("/session")
    async def read_session(request: Request) -> Response:
        caller = await pg.caller(request)
        if caller.auth != "session":
            raise AuthError("this endpoint reads the session cookie")
        return no_store(JSONResponse(session_body(caller)))

    @router.delete("/session", status_code=204)
    async def close_session(request: Request) -> Response:
        caller = await pg.caller(request)
        if caller.auth != "session":
            raise AuthError("this endpoint ends the cookie session; use /api/token/revoke for tokens")
        await manager.revoke(caller.login)
        return Response(status_code=204, headers={"Set-Cookie": pg.cookie.clear_header()})

    @router.post("/token", openapi_extra=documented(Credentials))
    async def open_tokens(request: Request) -> Response:
        body = await bodies.read(request, Credentials)
        user = await accounts.authenticate(body.username, body.password, ip_of(request))
        pair = await manager.open_tokens(user.id, user.username, client_of(request))
        return no_store(JSONResponse(token_body(pair)))

    @router.post("/token/refresh", openapi_extra=documented(RefreshRequest))
    async def refresh(request: Request) -> Response:
        body = await bodies.read(request, RefreshRequest)
        return no_store(JSONResponse(token_body(await manager.refresh(body.refresh_token))))

    @router.post("/token/revoke", status_code=204)
    async def revoke_token(request: Request) -> Response:
        caller = await pg.caller(request)
        if caller.auth != "token":
            raise AuthError("send the bearer token to revoke")
        await manager.revoke(caller.login)
        return Response(status_code=204)

    @router.put("/me/password", status_code=204, openapi_extra=documented(PasswordChange))
    async def change_password(request: Request) -> Response:
        caller = await pg.caller(request)
        body = await bodies.read(request, PasswordChange)
        await accounts.change_password(
            caller.user_id, body.current_password, body.new_password, keep=caller.login.id, ip=ip_of(request)
        )
        return Response(status_code=204)

    @router.delete("/me", status_code=204, openapi_extra=documented(PasswordConfirm))
    async def delete_account(request: Request) -> Response:
        caller = await pg.caller(request)
        body = await bodies.read(request, PasswordConfirm)
        await accounts.delete_confirmed(caller.user_id, body.password, ip_of(request))
        headers = {"Set-Cookie": pg.cookie.clear_header()} if caller.auth == "session" else {}
        return Response(status_code=204, headers=headers)

    @router.get("/sessions")
    async def list_logins(request: Request) -> list[dict[str, Any]]:
        caller = await pg.caller(request)
        return [login_body(login, caller) for login in await manager.logins.list(caller.user_id)]

    @router.delete("/sessions/{login_id}", status_code=204)
    async def revoke_login(login_id: str, request: Request) -> Response:
        caller = await pg.caller(request)
        login = await manager.logins.get(caller.user_id, login_id[:64], fresh=True)
        if login is None:
            raise NotFound("no such login")
        await manager.revoke(login)
        return Response(status_code=204)

    @router.delete("/sessions", status_code=204)
    async def revoke_logins(request: Request, include_current: str = "false") -> Response:
        caller = await pg.caller(request)
        everything = include_current == "true"
        await manager.revoke_all(caller.user_id, keep=None if everything else caller.login.id)
        headers = {"Set-Cookie": pg.cookie.clear_header()} if everything and caller.auth == "session" else {}
        return Response(status_code=204, headers=headers)

    return router
