"""Request bodies of the JSON API (checked strictly: strings must be strings)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)


class Credentials(Body):
    username: str
    password: str


class RefreshRequest(Body):
    refresh_token: str


class PasswordChange(Body):
    current_password: str
    new_password: str


class PasswordConfirm(Body):
    password: str


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body that the route reads itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}
