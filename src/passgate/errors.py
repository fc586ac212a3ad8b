"""Every error passgate raises on purpose, each with a stable ``code``.

The web layer turns them into RFC 9457 problem+json; the CLI prints their ``detail``.
No error message ever carries a password, a token or a session id.

    PassgateError
    ├── AuthError (401)            not_authenticated, invalid_credentials, token_invalid,
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


class AuthError(PassgateError):
    """The request carries no usable credential (401)."""

    code = "not_authenticated"
    status = 401
    title = "Not authenticated"


class InvalidCredentials(AuthError):
    code = "invalid_credentials"
    title = "Invalid username or password"


class TokenInvalid(AuthError):
    code = "token_invalid"
    title = "Invalid token"


class TokenExpired(AuthError):
    code = "token_expired"
    title = "Token expired"


class SessionRevoked(AuthError):
    code = "session_revoked"
    title = "Login revoked or expired"


class RefreshReused(AuthError):
    code = "refresh_reused"
    title = "Refresh token reused; the login is revoked"


class CsrfFailed(PassgateError):
    code = "csrf_failed"
    status = 403
    title = "CSRF check failed"


class Forbidden(PassgateError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(PassgateError):
    code = "not_found"
    status = 404
    title = "Not found"


class UsernameTaken(PassgateError):
    code = "username_taken"
    status = 409
    title = "Username taken"


class RateLimited(PassgateError):
    code = "rate_limited"
    status = 429
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str | None = None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail or f"Too many failed logins; retry in {self.retry_after} s")


class StoreUnavailable(PassgateError):
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
    pass


class PayloadTooLarge(RequestError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(RequestError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class MethodNotAllowed(RequestError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class ConfigError(PassgateError):
    """A setting or option is not usable; raised at construction, never per request."""

    code = "config_error"
