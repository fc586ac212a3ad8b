"""Routes for machines: health, readiness, metrics and the public keys."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from passgate.web.routing import Endpoint, json_response

if TYPE_CHECKING:
    from passgate.web.gate import Gate


async def jwks(gate: "Gate", request: Request) -> Response:
    return json_response(gate.deployment.signing.ring.jwks(), headers={"Cache-Control": "max-age=60"})


async def healthz(gate: "Gate", request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(gate: "Gate", request: Request) -> Response:
    checks = await gate.deployment.ready()
    return json_response(checks, status_code=200 if all(checks.values()) else 503)


async def metrics(gate: "Gate", request: Request) -> Response:
    return PlainTextResponse(gate.metrics.render(), media_type="text/plain; version=0.0.4")


ENDPOINTS = [
    Endpoint(path, handler, bare=True, include_in_schema=False)
    for path, handler in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics),
                          ("/.well-known/jwks.json", jwks))
]
