"""passgate: sessions, a session cluster and JWTs behind one login record.

Protect a FastAPI app::

    from fastapi import Depends, FastAPI
    from passgate import Caller, Passgate

    auth = Passgate()
    app = FastAPI(lifespan=auth.lifespan)
    auth.install(app)

    @app.get("/hello")
    async def hello(user: Caller = Depends(auth.current_user)) -> dict[str, str]:
        return {"hello": user.username}
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
    ValidationFailed,
)
from passgate.identity.users import User, UserRepository
from passgate.web.app import Passgate
from passgate.web.auth import Caller

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "Caller",
    "CsrfFailed",
    "Forbidden",
    "NotFound",
    "Passgate",
    "PassgateError",
    "RateLimited",
    "Settings",
    "StoreUnavailable",
    "User",
    "UserRepository",
    "ValidationFailed",
    "__version__",
    "load_settings",
]
