"""The JSON API, one module per topic, and the service routes (health, metrics, JWKS).

Handlers are module-level functions that take the :class:`~passgate.web.gate.Gate` first;
:func:`routes` binds them (see :class:`~passgate.web.routing.Endpoint`).
"""

from typing import TYPE_CHECKING

from fastapi.routing import APIRoute

from passgate.web.api import accounts, email, logins, service, sessions, tokens

if TYPE_CHECKING:
    from passgate.web.gate import Gate


def routes(gate: "Gate", *, prefix: str = "/api") -> list[APIRoute]:
    """Every route of the API under ``prefix`` and the service routes, the hottest first: every
    route tried before the right one costs its match."""
    api = [e.route(gate, prefix=prefix, tags=["passgate"])
           for module in (logins, sessions, tokens, accounts, email) for e in module.ENDPOINTS]
    served = [e.route(gate) for e in service.ENDPOINTS]
    hot = [r for r in api + served if r.path in (f"{prefix}/me", "/healthz") and r.methods == {"GET"}]
    return [*hot, *(r for r in api + served if r not in hot)]
