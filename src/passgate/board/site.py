"""What every page of the board shares: the deployment, the posts, the templates, and how a page
answers (rendered with the viewer and a form token, or a redirect)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from passgate import Caller, Passgate, PassgateError, StoreUnavailable, form_fields, http_status
from passgate.board.posts import PostRepository

TEMPLATES = Path(__file__).parent / "templates"
#: How an account page shows a refused form: the request, the caller, the status and the refusal's detail.
Refusal = Callable[[Request, Caller, int, str], Awaitable[Response]]
#: Every page: never cached (it shows the viewer), never framed (clickjacking), no script or style from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["when"] = lambda epoch: datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return templates


@dataclass
class Board:
    pg: Passgate
    posts: PostRepository
    templates: Jinja2Templates

    @classmethod
    def of(cls, pg: Passgate) -> "Board":
        return cls(pg, PostRepository(pg.database, pg.users), _templates())

    async def viewer(self, request: Request) -> Caller | None:
        """Who is looking, for the page header (None while the store is down)."""
        try:
            return await self.pg.optional_user(request)
        except StoreUnavailable:
            return None

    async def account_form(self, request: Request, act: Callable[[Caller, FormData], Awaitable[Response]], *,
                           page: str = "/account", refused: Refusal | None = None) -> Response:
        """A form of ``/account`` (or another account ``page``): its caller (or the login page), then
        ``act``; a refusal of it is shown on the account page (or by ``refused``)."""
        form = await form_fields(request)
        try:
            caller = await self.form_caller(request, form)
        except PassgateError:
            return redirect(f"/login?next={page}")
        try:
            return await act(caller, form)
        except PassgateError as exc:
            if refused is not None:
                return await refused(request, caller, http_status(exc), exc.detail)
            return await self.account(request, caller, http_status(exc), error=exc.detail)

    async def form_caller(self, request: Request, form: FormData) -> Caller:
        """The caller of a form post, its CSRF token checked."""
        return await self.pg.caller(request, form_token=field(form, "csrf_token"))

    async def account(self, request: Request, caller: Caller, status: int = 200, *, error: str | None = None,
                      notice: str | None = None) -> Response:
        """The account page, with the address and its state."""
        return self.render(request, "account.html", caller, status, error=error, notice=notice,
                           email=await self.pg.email_of(caller.user_id))

    def render(self, request: Request, name: str, caller: Caller | None, status: int = 200, *,
               forms: bool = False, **context: Any) -> Response:
        """The page ``name``; an anonymous viewer's page (and, with ``forms``, anyone's) gets a
        pre-session form token for its forms."""
        cookie = None
        if caller is None or forms:
            context["form_token"], cookie = self.pg.form_tokens.issue(request)
        response = self.templates.TemplateResponse(
            request, name, {"user": caller, **context}, status_code=status, headers=PAGE_HEADERS
        )
        if cookie:
            response.headers.append("Set-Cookie", cookie)
        return response


def redirect(to: str, *cookies: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    for cookie in cookies:
        response.headers.append("Set-Cookie", cookie)
    return response


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
