"""The posts API: anyone reads, logged-in callers write, authors delete their own posts."""


from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from passgate.board.posts import Post, PostRepository
from passgate.errors import Forbidden, NotFound
from passgate.web import bodies
from passgate.web.api import iso
from passgate.web.app import Passgate
from passgate.web.auth import Caller
from passgate.web.schemas import Body, documented


class NewPost(Body):
    title: str
    body: str = ""


def post_body(post: Post) -> dict[str, Any]:
    return {
        "id": post.id, "title": post.title, "body": post.body,
        "author": {"id": post.author_id, "username": post.author_name}, "created_at": iso(post.created_at),
    }


def build_posts_router(pg: Passgate, repo: PostRepository) -> APIRouter:
    router = APIRouter(tags=["board"])

    @router.get("/posts")
    async def list_posts(
        limit: Annotated[int, Query(ge=1, le=100)] = 20, before: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[dict[str, Any]]:
        return [post_body(p) for p in await repo.page(limit=limit, before=before)]

    @router.post("/posts", status_code=201, openapi_extra=documented(NewPost))
    async def create_post(request: Request, caller: Annotated[Caller, Depends(pg.current_user)]) -> dict[str, Any]:
        body = await bodies.read(request, NewPost)
        return post_body(await repo.create(caller.user_id, body.title, body.body))

    @router.get("/posts/{post_id}")
    async def read_post(post_id: str) -> dict[str, Any]:
        post = await repo.get(post_id)
        if post is None:
            raise NotFound("no such post")
        return post_body(post)

    @router.delete("/posts/{post_id}", status_code=204)
    async def delete_post(post_id: str, caller: Annotated[Caller, Depends(pg.current_user)]) -> Response:
        post = await repo.get(post_id)
        if post is None:
            raise NotFound("no such post")
        if post.author_id != caller.user_id:
            raise Forbidden("only the author deletes a post")
        await repo.delete(post.id)
        return Response(status_code=204)

    return router
