"""What an application runs around passgate's account flows: its welcome mail, its own audit record.

Subclass :class:`Hooks` and override the methods you need (each does nothing by default), then
give it to ``Passgate.from_settings(settings, hooks=MyHooks())``.  An ``after_*`` hook observes: if
it raises, the error is logged and the flow it observes goes on as if it had not run.  The two
``before_*`` hooks decide: :class:`Refused` answers the request with a 403 problem+json of the
application's ``code`` and ``detail``; any other error refuses too (logged; the caller is told no
more than ``refused``), since a check that crashed has not said yes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from passgate.errors import Refused
from passgate.identity.users import User

log = logging.getLogger("passgate.hooks")

__all__ = ["Hooks", "Refused", "decide", "observe"]


class Hooks:
    """The hooks of every account flow, for cookie and token logins alike."""

    async def before_register(self, username: str, email: str | None) -> None:
        """Before an account is made (the name and password have passed passgate's rules): raise
        :class:`Refused` to refuse it."""

    async def after_register(self, user: User) -> None:
        """The account exists."""

    async def before_login(self, user: User, method: str) -> None:
        """The user proved who they are (``method``: ``password``, ``password+totp``, …) and a
        login is about to be opened: raise :class:`Refused` to refuse it."""

    async def after_login(self, user: User, kind: str, login_id: str, method: str) -> None:
        """A login was opened: ``kind`` is ``cookie`` or ``token``; ``login_id`` its public id."""

    async def after_failed_login(self, username: str, ip: str) -> None:
        """A login with a wrong password (or for no such user: ``username`` as given)."""

    async def after_logout(self, user_id: str, login_id: str) -> None:
        """The caller ended their own login (one of their devices, or this one)."""

    async def after_password_change(self, user_id: str, via: str) -> None:
        """The password was set: ``via`` is ``user`` (the account page), ``admin`` or ``mail`` (a reset link)."""

    async def after_account_deleted(self, user_id: str) -> None:
        """The account and every login of it are gone."""


async def observe(hook: Awaitable[None], name: str) -> None:
    """Run an ``after_*`` hook: what it raises is logged, never passed on."""
    try:
        await hook
    except Exception:
        log.exception("the %s hook failed; the flow it observes went on", name)


async def decide(hook: Awaitable[None], name: str) -> None:
    """Run a ``before_*`` hook: Refused passes on; any other error is logged and refuses too."""
    try:
        await hook
    except Refused:
        raise
    except Exception as exc:
        log.exception("the %s hook failed; the request is refused", name)
        raise Refused("the application refused this") from exc
