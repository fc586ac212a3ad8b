"""``passgate serve | user | sessions | keys``: one node, and the admin view of a deployment."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from passgate import __version__
from passgate.config import Settings, load_settings, reference
from passgate.dates import iso
from passgate.deployment import Deployment
from passgate.errors import NotFound, PassgateError
from passgate.extras import require
from passgate.root import build

DEPLOYMENT_OPTIONS = ("data-dir", "database-url", "store", "jwt-alg", "secret-file", "access-ttl")
SERVE_OPTIONS = (
    "host", "port", "session-idle", "session-absolute", "refresh-idle", "refresh-absolute", "refresh-race-window",
    "mfa-token-ttl", "audience",
    "issuer", "login-limit", "device-cookie-ttl", "outage", "cors-origins", "public-url", "trusted-proxies",
    "max-logins", "dpop", "dbsc", "dbsc-cookie-ttl",
    "password-time-cost", "password-memory-kib", "password-parallelism",
    "smtp-url", "mail-from", "mail-token-ttl", "mail-limit",
)


#: Each option's help: what it does, its default and its variable (docs/configuration.md, from Settings).
_HELP = {option: f"{what} [default: {default.replace('%', '%%')}] (env {variable})"
         for option, variable, default, what in reference()}


def _add_options(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    for name in names:
        parser.add_argument(f"--{name}", default=None, help=_HELP[f"--{name}"].replace("`", ""))


def _settings(args: argparse.Namespace) -> Settings:
    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields}
    if getattr(args, "secret_file", None):  # never on argv itself: it would show in `ps`
        given["secret"] = _read_secret(args.secret_file)
    return load_settings(**given)


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PassgateError(f"cannot read the secret file: {exc.strerror}") from None


def _password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise PassgateError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _print(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def _admin(action: Callable[[Deployment, argparse.Namespace], Awaitable[None]]) -> Callable[[argparse.Namespace], None]:
    def run(args: argparse.Namespace) -> None:
        async def main() -> None:
            deployment = build(_settings(args))
            await deployment.start(node=False)
            try:
                await action(deployment, args)
            finally:
                await deployment.stop()

        asyncio.run(main())

    return run


async def _user_create(d: Deployment, args: argparse.Namespace) -> None:
    user = await d.accounts.register(args.name, _password("Password: "))
    _print({"id": user.id, "username": user.username})


async def _user_password(d: Deployment, args: argparse.Namespace) -> None:
    revoked = await d.accounts.reset_password(args.name, _password("New password: "))
    _print({"username": args.name, "revoked": revoked})


async def _user_mfa_reset(d: Deployment, args: argparse.Namespace) -> None:
    removed, revoked = await d.factors.reset(args.name)
    _print({"username": args.name, "mfa_removed": removed, "revoked": revoked})


async def _user_disable(d: Deployment, args: argparse.Namespace) -> None:
    revoked = await d.accounts.disable(args.name)
    _print({"username": args.name, "disabled": True, "revoked": revoked})


async def _user_enable(d: Deployment, args: argparse.Namespace) -> None:
    await d.accounts.enable(args.name)
    _print({"username": args.name, "disabled": False})


async def _user_role(d: Deployment, args: argparse.Namespace) -> None:
    change = d.accounts.grant_role if args.change == "add" else d.accounts.revoke_role
    _print({"username": args.name, "roles": list(await change(args.name, args.role))})


async def _user_email(d: Deployment, args: argparse.Namespace) -> None:
    email = await d.accounts.set_verified_email(args.name, args.address)
    _print({"username": args.name, "email": email.address, "email_verified": email.verified})


async def _user_of(d: Deployment, name: str) -> Any:
    user = await d.users.find(name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


async def _user_delete(d: Deployment, args: argparse.Namespace) -> None:
    revoked = await d.accounts.delete(await _user_of(d, args.name))
    _print({"username": args.name, "deleted": True, "revoked": revoked})


async def _sessions_list(d: Deployment, args: argparse.Namespace) -> None:
    user = await _user_of(d, args.name)
    for login in await d.logins.list(user.id):
        _print({"id": login.id, "kind": login.kind, "created_at": iso(login.created_at),
                "last_seen_at": iso(login.last_seen_at), "expires_at": iso(login.ends_at),
                "user_agent": login.user_agent, "ip": login.ip, "bound": login.bound, "method": login.method})


async def _sessions_revoke(d: Deployment, args: argparse.Namespace) -> None:
    user = await _user_of(d, args.name)
    if args.all == bool(args.session_id):
        raise PassgateError("give either --all or one SESSION_ID")
    revoked = (await d.logins.revoke_all(user.id) if args.all
               else await d.logins.revoke(user.id, [args.session_id]))
    if not args.all and not revoked:
        raise NotFound("no such login for that user")
    _print({"username": user.username, "revoked": revoked})


async def _keys_list(d: Deployment, args: argparse.Namespace) -> None:
    for key in await d.keys.list(access_ttl=d.token_options.access_ttl):
        _print(key)


async def _keys_rotate(d: Deployment, args: argparse.Namespace) -> None:
    _print(await d.keys.rotate(d.token_options.alg))


async def _keys_export(d: Deployment, args: argparse.Namespace) -> None:
    _print(await d.keys.export(args.kid))


def _serve(args: argparse.Namespace) -> None:
    require("uvicorn", "passgate serve")
    require("python_multipart", "the board's forms")
    from passgate.board.app import create_app
    from passgate.identity.passwords import usable_cores
    from passgate.root import Passgate
    from passgate.web import serving

    settings = _settings(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serving.keep_hash_memory(settings.password_memory_kib * 1024, usable_cores())
    serving.run(create_app(Passgate.from_settings(settings)), host=settings.host, port=settings.port)


_DASHED = "a value that starts with '-' goes after '--', as in `-- -value`"
_USERNAME = f"the username; {_DASHED}"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="passgate", description=__doc__, allow_abbrev=False)
    root.add_argument("--version", action="version", version=f"passgate {__version__}")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run one node (the community board and the API)",
                                allow_abbrev=False)
    _add_options(serve, DEPLOYMENT_OPTIONS + SERVE_OPTIONS)
    serve.add_argument("--insecure-cookies", action="store_true", default=None,
                       help=_HELP["--insecure-cookies"].replace("`", ""))
    for flag in ("--dpop-nonces", "--roles-claim"):
        serve.add_argument(flag, action="store_true", default=None, help=_HELP[flag].replace("`", ""))
    serve.set_defaults(func=_serve)

    def admin(group: Any, name: str, action: Any, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, allow_abbrev=False)
        _add_options(sub, DEPLOYMENT_OPTIONS)
        sub.set_defaults(func=_admin(action))
        return sub

    users = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    for name, action, text in (("create", _user_create, "create a user (password from stdin or a prompt)"),
                               ("password", _user_password, "set a new password; every login of the user ends"),
                               ("delete", _user_delete, "delete the account and every login of it"),
                               ("disable", _user_disable,
                                "disable the account: every login of it ends, and it cannot log in until enabled"),
                               ("enable", _user_enable, "enable a disabled account"),
                               ("mfa-reset", _user_mfa_reset,
                                "second factors off (TOTP, recovery codes, passkeys); every login ends")):
        admin(users, name, action, text).add_argument("name", help=_USERNAME)
    role = admin(users, "role", _user_role, "give a user a role, or take it away (require_role checks them)")
    role.add_argument("change", choices=("add", "remove"))
    role.add_argument("name", help=_USERNAME)
    role.add_argument("role", help="the role's name: ASCII letters, digits, '_', '-', '.', ':'")
    email = admin(users, "email", _user_email, "set the user's email address, verified")
    email.add_argument("name", help=_USERNAME)
    email.add_argument("address", help="the address; it counts as verified (the admin vouches for it)")

    sessions = commands.add_parser("sessions", help="a user's logins").add_subparsers(dest="action", required=True)
    admin(sessions, "list", _sessions_list, "list a user's logins").add_argument("name", help=_USERNAME)
    revoke = admin(sessions, "revoke", _sessions_revoke, "revoke one login or all of them")
    revoke.add_argument("name", help=_USERNAME)
    revoke.add_argument("session_id", nargs="?", help=f"one login's id, as `sessions list` prints it; {_DASHED}")
    revoke.add_argument("--all", action="store_true")

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    admin(keys, "list", _keys_list, "list the signing keys (public members only)")
    admin(keys, "rotate", _keys_rotate, "make a new signing key current")
    admin(keys, "export", _keys_export, "print one key's private JWK").add_argument("kid", help=_DASHED)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except PassgateError as exc:
        print(f"passgate: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
