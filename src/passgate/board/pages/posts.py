"""The board itself: reading posts, writing one, deleting one's own."""

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from passgate import CsrfFailed, Endpoint, PassgateError, ValidationFailed, form_fields
from passgate.board.site import field, redirect

if TYPE_CHECKING:
    from passgate.board.site import Board

PAGE = 20


async def board_page(board: "Board", request: Request, before: str | None = None) -> Response:
    caller = await board.viewer(request)
    try:
        posts = await board.posts.page(limit=PAGE, before=before[:64] if before else None)
    except ValidationFailed:
        posts = await board.posts.page(limit=PAGE)
    older = posts[-1].id if len(posts) == PAGE else None
    return board.render(request, "board.html", caller, posts=posts, older=older)


async def new_post(board: "Board", request: Request) -> Response:
    caller = await board.viewer(request)
    if caller is None:
        return redirect("/login?next=/posts/new")
    return board.render(request, "new_post.html", caller, title="", body="", error=None)


async def create_post(board: "Board", request: Request) -> Response:
    form = await form_fields(request)
    try:
        caller = await board.form_caller(request, form)
    except CsrfFailed:
        return board.render(request, "message.html", await board.viewer(request), 403,
                            message="The form expired. Please try again.")
    except PassgateError:
        return redirect("/login?next=/posts/new")
    title, body = field(form, "title"), field(form, "body")
    try:
        post = await board.posts.create(caller.user_id, title, body)
    except ValidationFailed as exc:
        return board.render(request, "new_post.html", caller, 422, title=title, body=body, error=exc.detail)
    return redirect(f"/posts/{post.id}")


async def show_post(board: "Board", request: Request, post_id: str) -> Response:
    caller = await board.viewer(request)
    post = await board.posts.get(post_id)
    if post is None:
        return board.render(request, "message.html", caller, 404, message="That post does not exist.")
    return board.render(request, "post.html", caller, post=post)


async def delete_post(board: "Board", request: Request, post_id: str) -> Response:
    form = await form_fields(request)
    try:
        caller = await board.form_caller(request, form)
    except PassgateError:
        return redirect("/login")
    post = await board.posts.get(post_id)
    if post is not None and post.author_id == caller.user_id:
        await board.posts.delete(post.id)
    return redirect("/")


ENDPOINTS = [
    Endpoint("/", board_page),
    Endpoint("/posts/new", new_post),
    Endpoint("/posts/new", create_post, ["POST"]),
    Endpoint("/posts/{post_id}", show_post),
    Endpoint("/posts/{post_id}/delete", delete_post, ["POST"]),
]
