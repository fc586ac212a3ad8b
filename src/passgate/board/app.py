"""The board application: passgate's JSON API, the posts API and the HTML pages.

It is built like any application that installs passgate, from public names only.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from passgate import Passgate, __version__
from passgate.board import api, pages
from passgate.board.site import Board


def create_app(pg: Passgate) -> FastAPI:
    board = Board.of(pg)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        async with pg.lifespan():
            await board.posts.create_schema()
            yield

    app = FastAPI(title="passgate community board", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    pg.install(app, guard="app")  # the board is the whole app: every request of it passes the guards
    app.router.routes.extend(e.route(board, prefix="/api", tags=["board"]) for e in api.ENDPOINTS)
    app.router.routes.extend(e.route(board, documented=False) for e in pages.ENDPOINTS)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
