"""Every error passgate raises on purpose, each with a stable ``code``.

The web layer turns them into RFC 9457 problem+json; the CLI prints their ``detail``.
No error message ever carries a password, a token or a session id.

    PassgateError
    ├── AuthError (401)            not_authenticated, invalid_credentials, token_invalid
    │                              (one detail for every invalid token, its reason logged),
    │                              token_expired, session_revoked, refresh_reused
    ├── CsrfFailed (403)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── UsernameTaken (409)
    ├── RateLimited (429)          retry_after
    ├── StoreUnavailable (503)     retry_after
    └── RequestError (4xx)         validation_failed, payload_too_large,
                                   unsupported_media_type, method_not_allowed
"""

from __future__ import annotations


class PassgateError(Exception):
    """The base of every passgate error."""

    code = "error"
    status = 500
    title = "Error"

    def __init__(self, detail: str | None = None, *, code: str | None = None, status: int | None = None):
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.detail)


class ClientGone(PassgateError):
    """The client hung up before its answer was ready: while sending its body, or while its
    password waited for a hashing thread (the hash is then dropped).

    Nobody reads this answer.  499 is the status nginx logs for it.
    """

    code = "client_closed_request"
    status = 499
    title = "Client closed request"


class AuthError(PassgateError):
    """The request carries no usable credential (401)."""

    code = "not_authenticated"
    status = 401
    title = "Not authenticated"


class InvalidCredentials(AuthError):
    """The username and password do not match a user (or the current password is wrong)."""

    code = "invalid_credentials"
    title = "Invalid username or password"


class TokenInvalid(AuthError):
    """An access or refresh token that passgate did not issue, or that breaks a rule.

    Every invalid token gets the same answer: which check failed would tell a forger what to
    fix next (RFC 8725 §3).  So ``detail`` is always :attr:`DETAIL`, and what went wrong is the
    ``reason``, which the web layer logs (``passgate.tokens``, INFO); it never carries the token.
    """

    code = "token_invalid"
    title = "Invalid token"
    DETAIL = "the token is not valid"

    def __init__(self, reason: str = "invalid token") -> None:
        self.reason = reason
        super().__init__(self.DETAIL)


class TokenExpired(AuthError):
    """An access token past its ``exp``."""

    code = "token_expired"
    title = "Token expired"


class SessionRevoked(AuthError):
    """The login behind a cookie or token has ended (logout, revocation, expiry)."""

    code = "session_revoked"
    title = "Login revoked or expired"


class RefreshReused(AuthError):
    """A spent refresh token came back after the race window: the whole login is revoked."""

    code = "refresh_reused"
    title = "Refresh token reused; the login is revoked"


class CsrfFailed(PassgateError):
    """A cookie caller's unsafe request lacks the CSRF token, or comes from a foreign Origin."""

    code = "csrf_failed"
    status = 403
    title = "CSRF check failed"


class Forbidden(PassgateError):
    """The caller may not do this (another user's post, say)."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(PassgateError):
    """No such thing, or not the caller's to see."""

    code = "not_found"
    status = 404
    title = "Not found"


class UsernameTaken(PassgateError):
    """The name is taken (names compare after NFKC and case folding)."""

    code = "username_taken"
    status = 409
    title = "Username taken"


class RateLimited(PassgateError):
    """Too many failed logins for the account or the client address; ``retry_after`` seconds to wait."""

    code = "rate_limited"
    status = 429
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str | None = None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail or f"Too many failed logins; retry in {self.retry_after} s")


class StoreUnavailable(PassgateError):
    """The store or database did not answer; ``retry_after`` seconds to wait (503)."""

    code = "store_unavailable"
    status = 503
    title = "Session store unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 2):
        self.retry_after = retry_after
        super().__init__(detail)


class RequestError(PassgateError):
    """The request itself is malformed."""

    code = "validation_failed"
    status = 422
    title = "Validation failed"


class ValidationFailed(RequestError):
    """The body or a query value breaks a rule (422), or is not JSON (400)."""


class PayloadTooLarge(RequestError):
    """The body is over 64 KiB."""

    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(RequestError):
    """A JSON endpoint was sent another media type."""

    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class MethodNotAllowed(RequestError):
    """The path exists, the method does not."""

    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class ConfigError(PassgateError):
    """A setting or option is not usable; raised at construction, never per request."""

    code = "config_error"
