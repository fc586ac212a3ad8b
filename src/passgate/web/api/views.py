"""What the API answers: the JSON bodies of sessions, token pairs, logins and the caller."""

import functools
from typing import Any

from starlette.responses import Response

from passgate.credentials.records import Login
from passgate.credentials.refresh import TokenPair
from passgate.dates import iso
from passgate.identity.emails import Email
from passgate.web.auth import Caller
from passgate.web.routing import Encoded

#: How ``/api/me`` names a login's kind (the contract's word for a cookie login is "session").
AUTH_NAMES = {"cookie": "session", "token": "token"}


def session_body(caller: Caller) -> dict[str, Any]:
    login = caller.login
    return {
        "user": {"id": caller.user_id, "username": caller.username}, "csrf_token": caller.csrf_token,
        "expires_at": iso(login.expires_at), "idle_expires_at": iso(login.idle_expires_at),
    }


def token_body(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token, "token_type": pair.token_type, "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token, "refresh_expires_in": pair.refresh_expires_in,
    }


def email_body(email: Email | None) -> dict[str, Any]:
    return {"email": email.address if email else None, "email_verified": bool(email and email.verified)}


def login_body(login: Login, current: Caller) -> dict[str, Any]:
    return {
        "id": login.id, "kind": login.kind, "created_at": iso(login.created_at),
        "last_seen_at": iso(login.last_seen_at), "expires_at": iso(login.ends_at),
        "user_agent": login.user_agent, "ip": login.ip, "current": login.id == current.login.id,
        "bound": login.bound, "method": login.method,
    }


@functools.lru_cache(maxsize=50_000)
def me_body(user_id: str, username: str, kind: str, session_id: str, email: str | None = None,
            email_verified: bool = False, bound: bool = False) -> Encoded:
    """``GET /api/me``'s body, encoded once per login and address: the same caller asks again and again."""
    return Encoded.of({"id": user_id, "username": username, "auth": AUTH_NAMES[kind], "session_id": session_id,
                       "email": email, "email_verified": email_verified, "bound": bound})


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
