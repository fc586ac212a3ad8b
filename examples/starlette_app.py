"""The README's example on plain Starlette, without FastAPI: save as ``app.py``, run ``uvicorn app:app``.

``PassgateMiddleware`` puts the caller into ``request.user``; ``requires_user`` answers 401 problem+json
to anonymous callers; ``auth.asgi_app()``, mounted last, serves the JSON API under ``/api``.
"""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from passgate import Caller, Passgate, PassgateMiddleware, requires_user

auth = Passgate.from_env()  # embedded defaults: SQLite in ./passgate-data; PASSGATE_* variables override


@requires_user
async def hello(request: Request) -> Response:
    user: Caller = request.user
    return JSONResponse({"hello": user.username})


app = Starlette(
    routes=[Route("/hello", hello), Mount("/", app=auth.asgi_app())],
    middleware=[Middleware(PassgateMiddleware, passgate=auth)],
    lifespan=auth.lifespan,
)
