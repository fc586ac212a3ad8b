"""The Starlette example (``examples/starlette_app.py``) without passgate: the same ``/hello``, no middleware."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    return JSONResponse({"hello": "bench"})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/hello", hello), Route("/healthz", healthz)])
