"""Request bodies of the JSON API (checked strictly: strings must be strings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """The base of a JSON request body: unknown members are ignored, and no error echoes what was sent."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)


class Credentials(Body):
    username: str
    password: str


class Registration(Credentials):
    email: str | None = None


class EmailChange(Body):
    email: str
    password: str


class MailedToken(Body):
    token: str


class ForgotPassword(Body):
    email: str


class PasswordReset(Body):
    token: str
    new_password: str


class RefreshRequest(Body):
    refresh_token: str


class PasswordChange(Body):
    current_password: str
    new_password: str


class PasswordConfirm(Body):
    password: str
