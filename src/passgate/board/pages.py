"""The board's HTML pages.  Forms post back here; every form carries a CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from passgate.board.forms import FormTokens
from passgate.board.posts import PostRepository
from passgate.errors import CsrfFailed, PassgateError, RateLimited, StoreUnavailable, ValidationFailed
from passgate.web.api import client_of, ip_of
from passgate.web.app import Passgate
from passgate.web.auth import Caller
from passgate.web.bodies import form_fields

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["when"] = lambda epoch: datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def build_pages(pg: Passgate, repo: PostRepository) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    forms = FormTokens(pg.deployment.secret, insecure=pg.settings.insecure_cookies)
    manager, accounts = pg.deployment.manager, pg.deployment.accounts

    async def viewer(request: Request) -> Caller | None:
        try:
            return await pg.optional_user(request)
        except StoreUnavailable:
            return None

    def render(request: Request, name: str, caller: Caller | None, status: int = 200, **context: Any) -> Response:
        cookie = None
        if caller is None:
            context["form_token"], cookie = forms.issue(request)
        response = templates.TemplateResponse(
            request, name, {"user": caller, **context}, status_code=status, headers={"Cache-Control": "no-store"}
        )
        if cookie:
            response.headers.append("Set-Cookie", cookie)
        return response

    def redirect(to: str, *cookies: str) -> Response:
        response = RedirectResponse(to, status_code=303)
        for cookie in cookies:
            response.headers.append("Set-Cookie", cookie)
        return response

    async def form_caller(request: Request, form: FormData) -> Caller:
        return await pg.caller(request, form_token=_field(form, "csrf_token"))

    @router.get("/")
    async def board(request: Request, before: str | None = None) -> Response:
        caller = await viewer(request)
        try:
            posts = await repo.page(limit=20, before=before[:64] if before else None)
        except ValidationFailed:
            posts = await repo.page(limit=20)
        older = posts[-1].id if len(posts) == 20 else None
        return render(request, "board.html", caller, posts=posts, older=older)

    @router.get("/posts/new")
    async def new_post(request: Request) -> Response:
        caller = await viewer(request)
        if caller is None:
            return redirect("/login?next=/posts/new")
        return render(request, "new_post.html", caller, title="", body="", error=None)

    @router.post("/posts/new")
    async def create_post(request: Request) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except CsrfFailed:
            return render(request, "message.html", await viewer(request), 403,
                          message="The form expired. Please try again.")
        except PassgateError:
            return redirect("/login?next=/posts/new")
        title, body = _field(form, "title"), _field(form, "body")
        try:
            post = await repo.create(caller.user_id, title, body)
        except ValidationFailed as exc:
            return render(request, "new_post.html", caller, 422, title=title, body=body, error=exc.detail)
        return redirect(f"/posts/{post.id}")

    @router.get("/posts/{post_id}")
    async def show_post(request: Request, post_id: str) -> Response:
        caller = await viewer(request)
        post = await repo.get(post_id)
        if post is None:
            return render(request, "message.html", caller, 404, message="That post does not exist.")
        return render(request, "post.html", caller, post=post)

    @router.post("/posts/{post_id}/delete")
    async def delete_post(request: Request, post_id: str) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except PassgateError:
            return redirect("/login")
        post = await repo.get(post_id)
        if post is not None and post.author_id == caller.user_id:
            await repo.delete(post.id)
        return redirect("/")

    @router.get("/login")
    async def login_page(request: Request, next: str = "/") -> Response:
        return render(request, "login.html", await viewer(request), next=_safe_next(next), error=None, username="")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await form_fields(request)
        username, target = _field(form, "username"), _safe_next(_field(form, "next") or "/")
        if not forms.check(request, _field(form, "csrf_token")):
            return render(request, "login.html", None, 403, next=target, username=username,
                          error="The form expired. Please try again.")
        try:
            user = await accounts.authenticate(username, _field(form, "password"), ip_of(request))
            cookie = await manager.open_session(
                user.id, user.username, client_of(request), replacing=pg.session_cookie(request)
            )
        except PassgateError as exc:
            status = exc.status if isinstance(exc, RateLimited | StoreUnavailable) else 401
            return render(request, "login.html", None, status, next=target, username=username, error=exc.detail)
        return redirect(target, pg.cookie.set_header(cookie))

    @router.get("/register")
    async def register_page(request: Request) -> Response:
        return render(request, "register.html", await viewer(request), error=None, username="")

    @router.post("/register")
    async def register(request: Request) -> Response:
        form = await form_fields(request)
        username, password = _field(form, "username"), _field(form, "password")
        if not forms.check(request, _field(form, "csrf_token")):
            return render(request, "register.html", None, 403, username=username,
                          error="The form expired. Please try again.")
        try:
            user = await accounts.register(username, password)
            cookie = await manager.open_session(
                user.id, user.username, client_of(request), replacing=pg.session_cookie(request)
            )
        except PassgateError as exc:
            return render(request, "register.html", None, exc.status, username=username, error=exc.detail)
        return redirect("/", pg.cookie.set_header(cookie))

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except CsrfFailed:
            return redirect("/")  # the login stays; the page it lands on carries a fresh token
        except PassgateError:
            return redirect("/", pg.cookie.clear_header())
        await manager.revoke(caller.login)
        return redirect("/", pg.cookie.clear_header())

    @router.get("/account/sessions")
    async def sessions_page(request: Request) -> Response:
        caller = await viewer(request)
        if caller is None:
            return redirect("/login?next=/account/sessions")
        logins = await manager.logins.list(caller.user_id)
        return render(request, "sessions.html", caller, logins=logins)

    @router.post("/account/sessions/revoke")
    async def revoke_sessions(request: Request) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except PassgateError:
            return redirect("/login?next=/account/sessions")
        which = _field(form, "login_id")
        if which == "others":
            await manager.revoke_all(caller.user_id, keep=caller.login.id)
        else:
            login = await manager.logins.get(caller.user_id, which[:64], fresh=True) if which else None
            if login is not None:
                await manager.revoke(login)
            if which == caller.login.id:
                return redirect("/", pg.cookie.clear_header())
        return redirect("/account/sessions")

    @router.get("/account")
    async def account_page(request: Request, changed: int | None = None) -> Response:
        caller = await viewer(request)
        if caller is None:
            return redirect("/login?next=/account")
        notice = None
        if changed is not None:
            notice = f"Password changed. {changed} other login{'s' if changed != 1 else ''} ended."
        return render(request, "account.html", caller, error=None, notice=notice)

    @router.post("/account/password")
    async def change_password(request: Request) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except PassgateError:
            return redirect("/login?next=/account")
        try:
            count = await accounts.change_password(
                caller.user_id, _field(form, "current_password"), _field(form, "new_password"),
                keep=caller.login.id, ip=ip_of(request),
            )
        except PassgateError as exc:
            return render(request, "account.html", caller, exc.status, error=exc.detail, notice=None)
        return redirect(f"/account?changed={count}")

    @router.post("/account/delete")
    async def delete_account(request: Request) -> Response:
        form = await form_fields(request)
        try:
            caller = await form_caller(request, form)
        except PassgateError:
            return redirect("/login?next=/account")
        try:
            await accounts.delete_confirmed(caller.user_id, _field(form, "password"), ip_of(request))
        except PassgateError as exc:
            return render(request, "account.html", caller, exc.status, error=exc.detail, notice=None)
        return redirect("/", pg.cookie.clear_header())

    return router

