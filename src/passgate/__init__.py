"""passgate: sessions, a session cluster and JWTs behind one login record.

Protect a FastAPI app:

    from fastapi import Depends, FastAPI
    from passgate import Caller, Passgate

    auth = Passgate()
    app = FastAPI(lifespan=auth.lifespan)
    auth.install(app)

    @app.get("/hello")
    async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
        return {"hello": user.username}

Without FastAPI, :class:`PassgateMiddleware`, :func:`requires_user` and :meth:`Passgate.asgi_app` do the
same for a plain Starlette application (see :mod:`passgate.web.starlette`).  To keep users in the
application's own model, pass ``Passgate(users=...)`` an object that satisfies :class:`UserRepository`.
"""

from passgate.config import Settings, load_settings
from passgate.errors import (
    AuthError,
    CsrfFailed,
    Forbidden,
    NotFound,
    PassgateError,
    RateLimited,
    StoreUnavailable,
    UsernameTaken,
    ValidationFailed,
)
from passgate.identity.names import username_key
from passgate.identity.users import User, UserRepository
from passgate.web.app import Passgate
from passgate.web.auth import Caller
from passgate.web.starlette import PassgateMiddleware, requires_user

__version__ = "0.1.0"
"""The release, as ``passgate --version`` prints it (see CHANGELOG.md)."""

__all__ = [
    "AuthError",
    "Caller",
    "CsrfFailed",
    "Forbidden",
    "NotFound",
    "Passgate",
    "PassgateError",
    "PassgateMiddleware",
    "RateLimited",
    "Settings",
    "StoreUnavailable",
    "User",
    "UserRepository",
    "UsernameTaken",
    "ValidationFailed",
    "__version__",
    "load_settings",
    "requires_user",
    "username_key",
]
