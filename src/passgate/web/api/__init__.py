"""The JSON API, one module per topic, and the service routes (health, metrics, JWKS).

Handlers are module-level functions that take the :class:`~passgate.web.gate.Gate` first;
:func:`routes` binds them (see :class:`~passgate.web.routing.Endpoint`).
"""

from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from fastapi.routing import APIRoute

from passgate.errors import ConfigError
from passgate.web.api import accounts, admin, dbsc, email, factors, logins, passkeys, service, sessions, tokens
from passgate.web.schemas import Registration

if TYPE_CHECKING:
    from passgate.web.gate import Gate

#: The API's parts, by the name ``install(routers=...)`` chooses them with.
ROUTERS = {"logins": logins, "sessions": sessions, "tokens": tokens, "accounts": accounts, "email": email,
           "factors": factors, "passkeys": passkeys, "admin": admin, "dbsc": dbsc}
#: The service routes' paths (health, readiness, metrics, the public keys).
SERVICE_PATHS = tuple(e.path for e in service.ENDPOINTS)


def routes(gate: "Gate", *, prefix: str = "/api", routers: Collection[str] | None = None,
           signup: bool = True, registration: type[Registration] = Registration) -> list[APIRoute]:
    """The routes of the API's chosen parts under ``prefix`` (all by default; ``signup=False`` leaves
    registration out) and the service routes, the hottest first: every route tried before the
    right one costs its match."""
    chosen = list(ROUTERS) if routers is None else list(routers)
    unknown = set(chosen) - set(ROUTERS)
    if unknown:
        raise ConfigError(f"no such passgate routers: {', '.join(sorted(unknown))}; choose from {', '.join(ROUTERS)}")
    api = [(replace(e, body=registration) if e.handler is accounts.register else e).route(
               gate, prefix=prefix, tags=["passgate"])
           for name in ROUTERS if name in chosen for e in ROUTERS[name].ENDPOINTS
           if signup or e.handler is not accounts.register]
    served = [e.route(gate) for e in service.ENDPOINTS]
    hot = [r for r in api + served if r.path in (f"{prefix}/me", "/healthz") and r.methods == {"GET"}]
    return [*hot, *(r for r in api + served if r not in hot)]
