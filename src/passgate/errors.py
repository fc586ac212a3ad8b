"""Every error passgate raises on purpose, each with a stable ``code``.

The web layer turns them into RFC 9457 problem+json (it alone knows their HTTP status:
:mod:`passgate.web.problems`); the CLI prints their ``detail``.  No error message ever carries a
password, a token or a session id.

    PassgateError
    ├── ClientGone                 client_closed_request
    ├── AuthError                  not_authenticated
    │   ├── InvalidCredentials     invalid_credentials
    │   │   └── WrongPassword      invalid_credentials (the caller's own password, re-checked)
    │   ├── MfaRequired            mfa_required, mfa_token, methods (the password was right; a second factor is due)
    │   ├── InvalidCode            mfa_invalid (a second factor's code: wrong, or used already)
    │   │   └── WrongCode          mfa_invalid (the caller's own code, asked before a change: 403)
    │   ├── TokenInvalid           token_invalid (one detail for every invalid token; its reason is logged)
    │   │   └── MfaTokenInvalid    token_invalid (an mfa_token: unknown, spent, expired)
    │   ├── TokenExpired           token_expired
    │   ├── SessionRevoked         session_revoked
    │   ├── RefreshReused          refresh_reused
    │   ├── InvalidDpopProof       invalid_dpop_proof (one detail for every bad proof; 400 at the token endpoints)
    │   │   └── UseDpopNonce       use_dpop_nonce, nonce (the proof needs the server's current nonce)
    │   ├── InvalidDbscProof       invalid_dbsc_proof (a device-bound session's registration or refresh proof)
    │   └── BoundCookieRequired    dbsc_required (a device-bound session without its fresh bound cookie)
    ├── WebauthnFailed             webauthn_failed (a passkey ceremony refused: 401 at login, 400 at registration)
    ├── DbscChallenge              dbsc_challenge, challenge, session_id (403: sign this challenge)
    ├── CsrfFailed                 csrf_failed
    ├── Forbidden                  forbidden
    │   ├── AccountDisabled        account_disabled (an administrator disabled the account)
    │   └── Refused                refused, or the application's code (a before_* hook's no; passgate.hooks)
    ├── NotFound                   not_found
    ├── UsernameTaken              username_taken
    ├── EmailTaken                 email_taken (another account has verified the address)
    ├── MailTokenInvalid           token_invalid (a mailed link's token: unknown, spent or superseded)
    │   └── MailTokenExpired       token_expired
    ├── MailUnavailable            mail_unavailable, retry_after
    ├── RateLimited                rate_limited, retry_after
    ├── StoreUnavailable           store_unavailable, retry_after
    ├── RequestError               validation_failed
    │   ├── ValidationFailed       validation_failed (breaks a rule)
    │   ├── MalformedRequest       validation_failed (not JSON, not Unicode, two Authorization headers)
    │   ├── PayloadTooLarge        payload_too_large
    │   └── UnsupportedMediaType   unsupported_media_type
    └── ConfigError                config_error
"""

from __future__ import annotations


class PassgateError(Exception):
    """The base of every passgate error."""

    code = "error"
    title = "Error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)


class ClientGone(PassgateError):
    """The client hung up before its answer was ready: while sending its body, or while its
    password waited for a hashing thread (the hash is then dropped).

    Nobody reads this answer.  499 is the status nginx logs for it.
    """

    code = "client_closed_request"
    title = "Client closed request"


class AuthError(PassgateError):
    """The request carries no usable credential (401)."""

    code = "not_authenticated"
    title = "Not authenticated"


class InvalidCredentials(AuthError):
    """The username and password do not match a user (or the current password is wrong)."""

    code = "invalid_credentials"
    title = "Invalid username or password"


class WrongPassword(InvalidCredentials):
    """The caller's own password, asked again before a change, is wrong (the caller is logged in)."""

    title = "Wrong password"


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


class MfaTokenInvalid(TokenInvalid):
    """An ``mfa_token`` that passgate did not issue, that was spent, that expired, or that leads to
    another kind of login: the password must be sent again."""

    DETAIL = "the mfa_token is not valid; log in again"


class MfaRequired(AuthError):
    """The password was right and the account has a second factor on: no credential yet.

    ``mfa_token`` (single use, minutes) and a code of one of ``methods`` finish the login at
    ``POST /api/session/mfa`` or ``POST /api/token/mfa``.
    """

    code = "mfa_required"
    title = "Second factor required"

    def __init__(self, mfa_token: str, methods: tuple[str, ...] = ("totp",)) -> None:
        self.mfa_token = mfa_token
        self.methods = methods
        super().__init__("send a code of the second factor with the mfa_token")

    def __repr__(self) -> str:  # never print the token
        return f"MfaRequired(methods={self.methods!r})"


class InvalidCode(AuthError):
    """A second factor's code (TOTP or recovery) that is wrong, or was used already."""

    code = "mfa_invalid"
    title = "Invalid code"


class WrongCode(InvalidCode):
    """The caller's own code, asked before a change (confirming or turning off TOTP), is wrong."""


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


class InvalidDpopProof(AuthError):
    """A DPoP proof (RFC 9449) that is missing, malformed, forged, stale, replayed, for another
    request or by another key than the credential's; or a DPoP-bound token sent without its proof.

    Like :class:`TokenInvalid`, every case answers alike; ``reason`` says which check failed, for
    the log.  ``token_request`` marks a refusal at a token endpoint (``POST /api/token``,
    ``/api/token/refresh``), where OAuth answers 400 rather than 401 (RFC 9449 §5).
    """

    code = "invalid_dpop_proof"
    title = "Invalid DPoP proof"
    DETAIL = "the DPoP proof is not valid"

    def __init__(self, reason: str = "invalid DPoP proof", *, token_request: bool = False) -> None:
        self.reason = reason
        self.token_request = token_request
        super().__init__(self.DETAIL)


class UseDpopNonce(InvalidDpopProof):
    """A DPoP proof without the server's current nonce, where the deployment asks for one
    (RFC 9449 §8): the answer carries ``nonce`` in a ``DPoP-Nonce`` header, to retry with."""

    code = "use_dpop_nonce"
    title = "DPoP nonce required"
    DETAIL = "send the DPoP proof again with the server's nonce"

    def __init__(self, nonce: str = "", *, token_request: bool = False) -> None:
        super().__init__("the DPoP proof lacks the server's current nonce", token_request=token_request)
        self.nonce = nonce


class InvalidDbscProof(AuthError):
    """A device-bound session's proof (``Secure-Session-Response``, DBSC) that is missing where one is due,
    malformed, forged, by another key than the session's, for a challenge of another login, or a
    registration for a login that is bound already.  Every case answers alike; ``reason`` is for the log."""

    code = "invalid_dbsc_proof"
    title = "Invalid device-bound session proof"
    DETAIL = "the device-bound session proof is not valid"

    def __init__(self, reason: str = "invalid DBSC proof") -> None:
        self.reason = reason
        super().__init__(self.DETAIL)


class BoundCookieRequired(AuthError):
    """A login bound to a browser's key (DBSC) was presented without its short-lived bound cookie, or
    with one that expired or was never issued: the browser refreshes it by signing a challenge."""

    code = "dbsc_required"
    title = "Device-bound session cookie required"


class DbscChallenge(PassgateError):
    """A device-bound session's refresh needs a fresh proof (403 with ``Secure-Session-Challenge``):
    none was sent, or it signed a challenge that is unknown, spent or expired."""

    code = "dbsc_challenge"
    title = "Sign the device-bound session challenge"

    def __init__(self, challenge: str = "", session_id: str = "") -> None:
        self.challenge, self.session_id = challenge, session_id
        super().__init__("sign the challenge in Secure-Session-Challenge with the session's key")

    def __repr__(self) -> str:  # never print the challenge
        return "DbscChallenge(...)"


class WebauthnFailed(PassgateError):
    """A passkey's answer (WebAuthn) that passgate refuses: its challenge unknown, spent or expired,
    another origin or relying party, no user verification, a sign counter that did not grow, a bad
    signature, an unknown or removed passkey.

    Like :class:`TokenInvalid`, every case of a login answers alike; ``reason`` says which check
    failed, for the log.  ``registration`` marks a refusal while adding a passkey (400, the caller
    is logged in already) rather than at a login (401).
    """

    code = "webauthn_failed"
    title = "Passkey not accepted"
    DETAIL = "the passkey was not accepted; try again"

    def __init__(self, reason: str = "passkey refused", *, registration: bool = False,
                 detail: str | None = None) -> None:
        self.reason = reason
        self.registration = registration
        super().__init__(detail or self.DETAIL)


class CsrfFailed(PassgateError):
    """A cookie caller's unsafe request lacks the CSRF token, or comes from a foreign Origin."""

    code = "csrf_failed"
    title = "CSRF check failed"


class Forbidden(PassgateError):
    """The caller may not do this (another user's post, say)."""

    code = "forbidden"
    title = "Forbidden"


class AccountDisabled(Forbidden):
    """An administrator disabled the account: no login, refresh or password reset until it is enabled.
    Said only to a caller who gave the right password (a wrong one is InvalidCredentials as always)."""

    code = "account_disabled"
    title = "Account disabled"


class Refused(Forbidden):
    """An application's ``before_*`` hook said no (:mod:`passgate.hooks`): 403, with the application's
    own ``code`` (default ``refused``) and ``detail``."""

    code = "refused"
    title = "Refused"

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code


class NotFound(PassgateError):
    """No such thing, or not the caller's to see."""

    code = "not_found"
    title = "Not found"


class UsernameTaken(PassgateError):
    """The name is taken (names compare after NFKC and case folding)."""

    code = "username_taken"
    title = "Username taken"


class EmailTaken(PassgateError):
    """Another account has verified that address (a verified address belongs to one account)."""

    code = "email_taken"
    title = "Email address taken"


class MailTokenInvalid(PassgateError):
    """The token of a mailed link (verification or password reset) is not one passgate issued,
    was spent already, or was superseded (the address changed).  One answer for all of them."""

    code = "token_invalid"
    title = "Invalid or used link"


class MailTokenExpired(MailTokenInvalid):
    """The token of a mailed link is past its lifetime (``--mail-token-ttl``)."""

    code = "token_expired"
    title = "Expired link"


class MailUnavailable(PassgateError):
    """No mail can be accepted: the deployment has no mail server (``--smtp-url``), or its outbox
    is backed up because the SMTP server has not taken mail for a long while (503)."""

    code = "mail_unavailable"
    title = "Mail unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class RateLimited(PassgateError):
    """Too many failed logins for the account or the client address; ``retry_after`` seconds to wait."""

    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail or f"Too many failed logins; retry in {self.retry_after} s")


class StoreUnavailable(PassgateError):
    """The store or database did not answer; ``retry_after`` seconds to wait (503)."""

    code = "store_unavailable"
    title = "Session store unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 2) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class RequestError(PassgateError):
    """The request itself is malformed."""

    code = "validation_failed"
    title = "Validation failed"


class ValidationFailed(RequestError):
    """The body or a query value breaks a rule."""


class MalformedRequest(RequestError):
    """The request cannot be read: the body is not JSON or not Unicode text, or it sends more
    than one ``Authorization`` header."""

    title = "Bad request"


class PayloadTooLarge(RequestError):
    """The body is over 64 KiB."""

    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(RequestError):
    """A JSON endpoint was sent another media type."""

    code = "unsupported_media_type"
    title = "Unsupported media type"


class ConfigError(PassgateError):
    """A setting or option is not usable; raised at construction, never per request."""

    code = "config_error"
