"""The posts API: anyone reads, logged-in callers write, authors delete their own posts."""

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from passgate import Body, Endpoint, Forbidden, NotFound, iso, read_json
from passgate.board.posts import BODY_MAX, NO_NUL, TITLE_MAX, TITLE_PATTERN, Post

if TYPE_CHECKING:
    from passgate.board.site import Board


class NewPost(Body):
    # The rules are checked by the repository (check_post); the schema says them for clients.
    title: str = Field(json_schema_extra={
        "minLength": 1, "maxLength": TITLE_MAX, "pattern": TITLE_PATTERN,
        "description": f"1 to {TITLE_MAX} characters, not blank, no NUL",
    })
    body: str = Field("", json_schema_extra={"maxLength": BODY_MAX, "pattern": NO_NUL})


class Author(BaseModel):
    """A post's author; both null once the account is deleted."""

    id: str | None
    username: str | None


class PostView(BaseModel):
    id: str
    title: str
    body: str
    author: Author
    created_at: str = Field(json_schema_extra={"format": "date-time"})


#: What a caller's credential may cost any endpoint that reads it (400: two Authorization headers).
AUTH_FAILURES = (400, 401, 503)


def post_body(post: Post) -> dict[str, Any]:
    return {
        "id": post.id, "title": post.title, "body": post.body,
        "author": {"id": post.author_id, "username": post.author_name}, "created_at": iso(post.created_at),
    }


async def list_posts(
    board: "Board", limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    return [post_body(p) for p in await board.posts.page(limit=limit, before=before)]


async def create_post(board: "Board", request: Request) -> dict[str, Any]:
    caller = await board.pg.current_user(request)
    body = await read_json(request, NewPost)
    return post_body(await board.posts.create(caller.user_id, body.title, body.body))


async def read_post(board: "Board", post_id: str) -> dict[str, Any]:
    post = await board.posts.get(post_id)
    if post is None:
        raise NotFound("no such post")
    return post_body(post)


async def delete_post(board: "Board", post_id: str, request: Request) -> Response:
    caller = await board.pg.current_user(request)
    post = await board.posts.get(post_id)
    if post is None:
        raise NotFound("no such post")
    if post.author_id != caller.user_id:
        raise Forbidden("only the author deletes a post")
    await board.posts.delete(post.id)
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("/posts", list_posts, fails=(422, 503), returns=list[PostView]),
    Endpoint("/posts", create_post, ["POST"], status_code=201, body=NewPost, fails=(*AUTH_FAILURES, 403),
             returns=PostView, auth="either"),
    Endpoint("/posts/{post_id}", read_post, fails=(404, 503), returns=PostView),
    Endpoint("/posts/{post_id}", delete_post, ["DELETE"], status_code=204, fails=(*AUTH_FAILURES, 403, 404),
             auth="either"),
]
