"""Request and answer bodies of the JSON API, as the OpenAPI document describes them.

Request bodies are checked strictly (strings must be strings); the rules of their values are
checked where they belong (:mod:`passgate.identity.names`), and their schemas say those rules as
far as JSON Schema can, so that clients generated from the document agree with the server.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from passgate.identity.emails import EMAIL_MAX, EMAIL_PATTERN
from passgate.identity.names import PASSWORD_MAX, PASSWORD_MIN

#: A pattern read alike by ECMA-262 and Python: no NUL anywhere.
NO_NUL = r"^[^\u0000]*$"

#: JSON Schema of a new password: the contract's rules exactly.
#: JSON Schema of an address: what ``check_email`` accepts.
EMAIL_RULES: dict[str, Any] = {"maxLength": EMAIL_MAX, "pattern": EMAIL_PATTERN}
PASSWORD_RULES: dict[str, Any] = {
    "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX, "pattern": NO_NUL,
    "description": f"{PASSWORD_MIN} to {PASSWORD_MAX} code points as sent, never normalised, any character but NUL",
}
#: JSON Schema of a new username, as far as a schema can say it.  The name is NFKC-normalised
#: before its 3 to 32 code points are counted, and NFKC turns one code point into up to 18
#: (``㍿`` is ``株式会社``) and up to 4 into one: what was sent has 1 to 128.  Control characters and
#: spaces are refused whatever NFKC does; the other rules (letters of one script, marks after letters)
#: need Unicode properties that no pattern both ECMA-262 and Python read can name.
USERNAME_RULES: dict[str, Any] = {
    "minLength": 1, "maxLength": 4 * 32, "pattern": r"^[^\u0000-\u0020\u007f-\u009f]*$",
    "description": "NFKC-normalised, then 3 to 32 code points, each a letter (with its combining marks), a digit "
                   "or one of _ . -, the letters all of one script; unique after case folding",
}


class Body(BaseModel):
    """The base of a JSON request body: unknown members are ignored, and no error echoes what was sent."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)


class Credentials(Body):
    """A login: any two strings (two that match no user are a 401, not a 422)."""

    username: str
    password: str


class Registration(Body):
    username: str = Field(json_schema_extra=USERNAME_RULES)
    password: str = Field(json_schema_extra=PASSWORD_RULES)
    email: str | None = Field(None, json_schema_extra=EMAIL_RULES)


class EmailChange(Body):
    email: str = Field(json_schema_extra=EMAIL_RULES)
    password: str


class MailedToken(Body):
    token: str


class ForgotPassword(Body):
    email: str = Field(json_schema_extra=EMAIL_RULES)


class PasswordReset(Body):
    token: str
    new_password: str = Field(json_schema_extra=PASSWORD_RULES)


class RefreshRequest(Body):
    refresh_token: str


class PasswordChange(Body):
    current_password: str
    new_password: str = Field(json_schema_extra=PASSWORD_RULES)


class PasswordConfirm(Body):
    password: str


#: JSON Schema of a second factor's code (what ``passgate.mfa`` looks at).
CODE_RULES: dict[str, Any] = {"maxLength": 64, "description": "a code of the authenticator app, or a recovery code"}


class TotpCode(Body):
    code: str = Field(json_schema_extra={**CODE_RULES, "description": "a code of the authenticator app"})


class TotpRemoval(Body):
    password: str
    code: str = Field(json_schema_extra=CODE_RULES)


class MfaStep(Body):
    """A login's second step: the ``mfa_token`` of the ``mfa_required`` answer and a code."""

    mfa_token: str
    code: str = Field(json_schema_extra=CODE_RULES)


# -- answers (documentation only: the handlers build their bodies) -------------------------

_TIME: JsonDict = {"format": "date-time"}


class UserRef(BaseModel):
    id: str
    username: str


class Accepted(BaseModel):
    """Taken: what follows happens out of the request (an empty object)."""


class EmailView(BaseModel):
    email: str | None
    email_verified: bool


class NewUser(UserRef):
    created_at: str = Field(json_schema_extra=_TIME)
    #: Present when the registration gave an address.
    email: str | None = None
    email_verified: bool | None = None


class SessionView(BaseModel):
    user: UserRef
    csrf_token: str
    expires_at: str = Field(json_schema_extra=_TIME)
    idle_expires_at: str = Field(json_schema_extra=_TIME)


class DbscCredential(BaseModel):
    type: Literal["cookie"]
    name: str
    attributes: str


class DbscSessionView(BaseModel):
    """The session instructions of a device-bound session (the DBSC draft's JSON session config)."""

    session_identifier: str
    refresh_url: str
    scope: dict[str, bool]
    credentials: list[DbscCredential]


class TokenPairView(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    refresh_token: str
    refresh_expires_in: int = Field(ge=0)


class MeView(UserRef):
    auth: Literal["session", "token"]
    session_id: str
    email: str | None
    email_verified: bool


class TotpEnrolmentView(BaseModel):
    """A pending TOTP secret (base32) and the URI of its QR code; on once confirmed by a first code."""

    secret: str
    otpauth_uri: str


class RecoveryCodesView(BaseModel):
    """Ten codes, each usable once in place of a TOTP code; shown only this once."""

    recovery_codes: list[str] = Field(min_length=10, max_length=10)


class LoginView(BaseModel):
    id: str
    kind: Literal["cookie", "token"]
    #: How the login was made.
    method: str = Field(json_schema_extra={"examples": ["password", "password+totp", "password+recovery_code",
                                                        "passkey"]})
    created_at: str = Field(json_schema_extra=_TIME)
    last_seen_at: str = Field(json_schema_extra=_TIME)
    expires_at: str = Field(json_schema_extra=_TIME)
    user_agent: str
    ip: str
    current: bool


class AccountStateView(BaseModel):
    username: str
    disabled: bool
    #: The logins that disabling ended (0 when enabling).
    revoked: int


class RolesView(BaseModel):
    username: str
    roles: list[str]


# -- passkeys (WebAuthn): the credential's toJSON() in, its options out ----------------------

#: base64url without padding, as ``PublicKeyCredential.toJSON()`` writes every binary member.
BASE64URL = r"^[A-Za-z0-9_-]*$"


def _b64(max_length: int) -> Any:
    return Field(max_length=max_length, pattern=BASE64URL)


class AttestationResponse(Body):
    clientDataJSON: str = _b64(4096)
    attestationObject: str = _b64(60_000)
    transports: list[str] | None = None


class PasskeyRegistration(Body):
    """``PublicKeyCredential.toJSON()`` of ``navigator.credentials.create()``, and a name for the passkey."""

    id: str = _b64(1364)
    rawId: str = _b64(1364)
    type: Literal["public-key"]
    response: AttestationResponse
    clientExtensionResults: dict[str, Any] | None = None
    #: What the owner calls it ("Phone", "Laptop"); "Passkey" when not given.
    name: str | None = Field(None, max_length=64)


class AssertionResponse(Body):
    clientDataJSON: str = _b64(4096)
    authenticatorData: str = _b64(4096)
    signature: str = _b64(2048)
    userHandle: str | None = Field(None, max_length=128, pattern=BASE64URL)


class PasskeyAssertion(Body):
    """``PublicKeyCredential.toJSON()`` of ``navigator.credentials.get()``."""

    id: str = _b64(1364)
    rawId: str = _b64(1364)
    type: Literal["public-key"]
    response: AssertionResponse
    clientExtensionResults: dict[str, Any] | None = None


class CreationOptionsView(BaseModel):
    """``PublicKeyCredentialCreationOptionsJSON`` under ``publicKey``: pass ``publicKey`` to
    ``PublicKeyCredential.parseCreationOptionsFromJSON``."""

    publicKey: dict[str, Any]


class RequestOptionsView(BaseModel):
    """``PublicKeyCredentialRequestOptionsJSON`` under ``publicKey``: pass ``publicKey`` to
    ``PublicKeyCredential.parseRequestOptionsFromJSON``."""

    publicKey: dict[str, Any]


class PasskeyView(BaseModel):
    id: str
    name: str
    created_at: str = Field(json_schema_extra=_TIME)
    last_used_at: str | None = Field(json_schema_extra=_TIME)
    transports: list[str]
