"""The board application: passgate's JSON API, the posts API and the HTML pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from passgate.board.api import build_posts_router
from passgate.board.pages import build_pages
from passgate.board.posts import PostRepository
from passgate.config import Settings
from passgate.web.app import Passgate


def create_app(settings: Settings) -> FastAPI:
    pg = Passgate(settings)
    app = FastAPI(
        title="passgate community board", version=_version(), lifespan=pg.lifespan,
        docs_url=None, redoc_url=None,
    )
    posts = PostRepository(pg.deployment.engine)
    pg.install(app)
    app.include_router(build_posts_router(pg, posts), prefix="/api")
    app.include_router(build_pages(pg, posts))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.state.passgate = pg
    return app


def _version() -> str:
    from passgate import __version__

    return __version__
