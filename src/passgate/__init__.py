"""passgate: sessions, a session cluster and JWTs behind one login record.

Protect a FastAPI app:

    from fastapi import Depends, FastAPI
    from passgate import Caller, Passgate

    auth = Passgate.from_env()
    app = FastAPI(lifespan=auth.lifespan)
    auth.install(app)

    @app.get("/hello")
    async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
        return {"hello": user.username}

Without FastAPI, :class:`PassgateMiddleware`, :func:`requires_user` and :meth:`Passgate.asgi_app` do the
same for a plain Starlette application (see :mod:`passgate.web.starlette`).  To keep users in the
application's own model, pass ``Passgate.from_env(users=...)`` an object that satisfies :class:`UserRepository`.

Everything an application (and passgate's own community board) needs is a name here: the login
flows are methods of :class:`Passgate`, and the helpers below read request bodies and forms as the
JSON API does and answer errors as it does.
"""

from passgate.config import Settings, load_settings
from passgate.credentials.records import Login
from passgate.dates import iso
from passgate.errors import (
    AccountDisabled,
    AuthError,
    CsrfFailed,
    EmailTaken,
    Forbidden,
    InvalidCode,
    InvalidCredentials,
    MailTokenExpired,
    MailTokenInvalid,
    MailUnavailable,
    MfaRequired,
    MfaTokenInvalid,
    NotFound,
    PassgateError,
    RateLimited,
    StoreUnavailable,
    UsernameTaken,
    ValidationFailed,
    WebauthnFailed,
    WrongPassword,
)
from passgate.hooks import Hooks, Refused
from passgate.identity.emails import Email
from passgate.identity.models import ModelUserRepository, UserMixin
from passgate.identity.names import username_key, username_skeleton
from passgate.identity.passkeys import Passkey
from passgate.identity.users import User, UserRepository
from passgate.root import Passgate
from passgate.web.auth import Caller
from passgate.web.bodies import form_fields
from passgate.web.bodies import read as read_json
from passgate.web.gate import PasswordChanged
from passgate.web.problems import http_status
from passgate.web.routing import Endpoint
from passgate.web.schemas import Body, Registration
from passgate.web.starlette import PassgateMiddleware, requires_role, requires_user

__version__ = "0.1.0"
"""The release, as ``passgate --version`` prints it (see CHANGELOG.md)."""

__all__ = [
    "AccountDisabled",
    "AuthError",
    "Body",
    "Caller",
    "CsrfFailed",
    "Email",
    "EmailTaken",
    "Endpoint",
    "Forbidden",
    "Hooks",
    "InvalidCode",
    "InvalidCredentials",
    "Login",
    "MailTokenExpired",
    "MailTokenInvalid",
    "MailUnavailable",
    "MfaRequired",
    "MfaTokenInvalid",
    "ModelUserRepository",
    "NotFound",
    "Passgate",
    "PassgateError",
    "PassgateMiddleware",
    "Passkey",
    "PasswordChanged",
    "RateLimited",
    "Refused",
    "Registration",
    "Settings",
    "StoreUnavailable",
    "User",
    "UserMixin",
    "UserRepository",
    "UsernameTaken",
    "ValidationFailed",
    "WebauthnFailed",
    "WrongPassword",
    "__version__",
    "form_fields",
    "http_status",
    "iso",
    "load_settings",
    "read_json",
    "requires_role",
    "requires_user",
    "username_key",
    "username_skeleton",
]
