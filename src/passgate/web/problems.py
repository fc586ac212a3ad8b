"""RFC 9457 problem+json for every error, with the contract's stable codes.

The HTTP status of each of passgate's errors is decided here, and only here (:func:`http_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from passgate.errors import (
    AuthError,
    ClientGone,
    CsrfFailed,
    DbscChallenge,
    EmailTaken,
    Forbidden,
    InvalidDbscProof,
    InvalidDpopProof,
    MailTokenInvalid,
    MailUnavailable,
    MalformedRequest,
    MfaRequired,
    NotFound,
    PassgateError,
    PayloadTooLarge,
    RateLimited,
    RequestError,
    StoreUnavailable,
    TokenExpired,
    TokenInvalid,
    UnsupportedMediaType,
    UseDpopNonce,
    UsernameTaken,
    WebauthnFailed,
    WrongCode,
    WrongPassword,
)
from passgate.transports import BearerTransport, DpopTransport
from passgate.web.dbsc import sf_quote

log = logging.getLogger("passgate.web")
#: Why each invalid token was refused: the answer says only that it was (TokenInvalid).
tokens_log = logging.getLogger("passgate.tokens")

PROBLEM = "application/problem+json"
_BY_STATUS = {
    400: ("validation_failed", "Bad request"),
    401: ("not_authenticated", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_failed", "Validation failed"),
}
#: Every ``code`` a problem of the JSON API can carry (the contract's list).
CODES = (
    "invalid_credentials", "not_authenticated", "token_invalid", "token_expired", "session_revoked",
    "refresh_reused", "csrf_failed", "rate_limited", "store_unavailable", "validation_failed",
    "payload_too_large", "forbidden", "not_found", "username_taken", "method_not_allowed", "unsupported_media_type",
    "email_taken", "mail_unavailable", "invalid_dpop_proof", "use_dpop_nonce", "mfa_required", "mfa_invalid",
    "account_disabled", "refused", "webauthn_failed", "invalid_dbsc_proof", "dbsc_required", "dbsc_challenge",
)
#: The OpenAPI schema of a problem (RFC 9457), ``components/schemas/Problem`` of the document.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: every error of the API, with a stable code.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": list(CODES)},
        "mfa_token": {"type": "string", "description": "mfa_required: finishes the login with a code (single use)"},
        "methods": {"type": "array", "items": {"type": "string"},
                    "description": "mfa_required: the second factors the account has (totp, recovery_code)"},
    },
    "required": ["type", "title", "status", "detail", "code"],
}
_ANSWERS = {
    400: "Malformed request (JSON, or more than one Authorization header), or a passkey refused at registration",
    401: "Not authenticated: no credential, or one that is invalid, expired or revoked (or, at a login, "
         "mfa_required: a second factor's code is due; webauthn_failed: a passkey refused at a login)",
    403: "Forbidden: CSRF check failed, wrong password, or not yours (a device-bound session's refresh: "
         "dbsc_challenge, sign the Secure-Session-Challenge)",
    404: "Not found",
    409: "Conflict",
    413: "Request body over 64 KiB",
    415: "The body is not application/json",
    422: "A body or parameter that breaks a rule",
    429: "Too many failed attempts; retry after Retry-After seconds",
    503: "The store or the database is unreachable; retry after Retry-After seconds",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The scheme to authenticate with (RFC 9110)",
                               "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def documented(statuses: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses: each a Problem in problem+json."""
    content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    answers: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        answers[status] = {"description": _ANSWERS[status], "content": content}
        if status in _HEADERS:
            answers[status]["headers"] = _HEADERS[status]
    return answers


#: The transport whose challenge every 401 carries (RFC 9110: a 401 names a scheme; a cookie has none).
_BEARER = BearerTransport()
CHALLENGE = _BEARER.challenge()
_DPOP = DpopTransport()

#: By the most specific class in an error's MRO; anything else is a 500.
_STATUS: dict[type[PassgateError], int] = {
    ClientGone: 499, AuthError: 401, WrongPassword: 403, WrongCode: 403, CsrfFailed: 403, Forbidden: 403, NotFound: 404,
    UsernameTaken: 409, RateLimited: 429, StoreUnavailable: 503, RequestError: 422, MalformedRequest: 400,
    PayloadTooLarge: 413, UnsupportedMediaType: 415, EmailTaken: 409, MailTokenInvalid: 400, MailUnavailable: 503,
    DbscChallenge: 403,
}


def http_status(exc: PassgateError) -> int:
    """The HTTP status that answers ``exc``."""
    if isinstance(exc, InvalidDpopProof) and exc.token_request:
        return 400  # OAuth's answer at a token endpoint (RFC 9449 §5)
    if isinstance(exc, WebauthnFailed):
        return 400 if exc.registration else 401
    for kind in type(exc).__mro__:
        status = _STATUS.get(kind)
        if status is not None:
            return status
    return 500


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None,
            **members: Any) -> Response:
    """A problem+json answer; ``members`` are its extension members (RFC 9457 §3.2)."""
    body = {"type": f"https://passgate.dev/problems/{code}", "title": title, "status": status,
            "detail": detail, "code": code, **members}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def challenge_for(exc: PassgateError) -> str:
    if isinstance(exc, InvalidDpopProof):
        return _DPOP.challenge(exc.code)
    if isinstance(exc, TokenInvalid | TokenExpired):
        return _BEARER.challenge("invalid_token", exc.code)
    return CHALLENGE


def from_error(exc: PassgateError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, TokenInvalid):
        tokens_log.info("token refused: %s", exc.reason)
    if isinstance(exc, InvalidDpopProof):
        tokens_log.info("DPoP proof refused: %s", exc.reason)
    if isinstance(exc, WebauthnFailed):
        tokens_log.info("passkey refused: %s", exc.reason)
    if isinstance(exc, InvalidDbscProof):
        tokens_log.info("DBSC proof refused: %s", exc.reason)
    if isinstance(exc, DbscChallenge):
        headers["Secure-Session-Challenge"] = f"{sf_quote(exc.challenge)};id={sf_quote(exc.session_id)}"
    if isinstance(exc, UseDpopNonce) and exc.nonce:
        headers["DPoP-Nonce"] = exc.nonce
    if isinstance(exc, AuthError) or (isinstance(exc, WebauthnFailed) and not exc.registration):
        headers["WWW-Authenticate"] = challenge_for(exc)
    if isinstance(exc, RateLimited | StoreUnavailable | MailUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    members = {"mfa_token": exc.mfa_token, "methods": list(exc.methods)} if isinstance(exc, MfaRequired) else {}
    return problem(http_status(exc), exc.code, exc.title, exc.detail, headers, **members)


async def _passgate_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PassgateError)
    return from_error(exc)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110: a 405's Allow lists them all); the
    router's own answer names only the first route that matched the path.  Each method is tried
    against the routes, included routers and mounts alike."""
    routes = request.app.router.routes
    allowed = [method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, title = _BY_STATUS.get(exc.status_code, ("error", "Error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem(exc.status_code, code, title, detail, headers)


def describe(errors: list[Any]) -> str:
    """Where and why validation failed, never what was sent (it may be a password)."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "validation_failed", "Malformed JSON", "the body is not valid JSON")
    return problem(422, "validation_failed", "Validation failed", describe(errors))


async def _client_disconnect(_: Request, exc: Exception) -> Response:
    # A client that hangs up while sending its body is routine, not an error of the server's.
    return from_error(ClientGone("the client hung up before its request was read"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem(500, "internal_error", "Internal error", "an unexpected error occurred")


def install(app: FastAPI) -> None:
    app.add_exception_handler(PassgateError, _passgate_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(Exception, _unexpected)
