"""The composition root: the one place where settings become backends and services.

``passgate serve``, the admin commands and :class:`Passgate` all build a deployment here:
:func:`open_engine` and :func:`open_store` choose the database and the store by URL, :func:`build`
wires every service, and :class:`Passgate` is the web face (:class:`~passgate.web.gate.Gate`) of
what it built.  Nothing below this module picks a backend or reads a setting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from passgate.accounts import Accounts
from passgate.config import Settings, load_settings
from passgate.credentials import schema as credentials_schema
from passgate.credentials.challenges import MfaChallenges, WebauthnChallenges
from passgate.credentials.cookies import CookieLogins
from passgate.credentials.device_cookies import DeviceCookies
from passgate.credentials.dpop import Nonces, ProofVerifier
from passgate.credentials.keys import KeyRepository, load_secret
from passgate.credentials.logins import LoginRepository
from passgate.credentials.opening import LoginOpener, LoginPolicy
from passgate.credentials.ratelimit import LoginLimiter
from passgate.credentials.refresh import RotationPolicy, TokenLogins
from passgate.credentials.signing import Signing
from passgate.credentials.verifier import Verifier
from passgate.deployment import Deployment, TokenOptions
from passgate.errors import ConfigError
from passgate.extras import require
from passgate.files import private_file
from passgate.hooks import Hooks
from passgate.identity import emails as emails_schema
from passgate.identity import passkeys as passkeys_schema
from passgate.identity import states as states_schema
from passgate.identity import totp as totp_schema
from passgate.identity import users as identity_schema
from passgate.identity.emails import EmailRepository
from passgate.identity.passkeys import PasskeyRepository
from passgate.identity.passwords import HashPolicy, PasswordHasher
from passgate.identity.states import AccountStates
from passgate.identity.totp import TotpRepository
from passgate.identity.users import SqlUserRepository, UserRepository
from passgate.mail import schema as mail_schema
from passgate.mail.base import Sender
from passgate.mail.limits import MailLimiter
from passgate.mail.log import LogSender
from passgate.mail.mailer import Mailer, MailOptions
from passgate.mail.smtp import SmtpSender
from passgate.mfa import SecondFactors
from passgate.passkeys import Passkeys
from passgate.stores.base import Store
from passgate.stores.memory import MemoryStore
from passgate.stores.sqlite import SqliteStore
from passgate.web.gate import Gate, WebOptions

__all__ = ["Passgate", "build", "open_engine", "open_sender", "open_store", "web_options"]

#: The extra that brings each optional driver.
def open_store(url: str, *, clock: Callable[[], float] = time.time) -> Store:
    """``memory://``, ``sqlite:///PATH``, ``redis[s]://HOST:PORT/DB`` or ``redis[s]+cluster://HOST:PORT,…``
    ``redis[s]+sentinel://HOST:PORT,…/SERVICE`` (``rediss``: TLS)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(clock=clock)
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise ConfigError(f"a SQLite store needs an absolute path: sqlite:///PATH, not {url!r}")
        return SqliteStore(path, clock=clock)
    if scheme in ("redis", "rediss"):
        require("redis", "a Redis store")
        from passgate.stores.redis import RedisStore

        return RedisStore.from_url(url)
    if scheme in ("redis+cluster", "rediss+cluster"):
        require("redis", "a Redis Cluster store")
        from passgate.stores.redis_cluster import RedisClusterStore

        return RedisClusterStore.from_url(url)
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        require("redis", "a Redis Sentinel store")
        from passgate.stores.redis_sentinel import RedisSentinelStore

        return RedisSentinelStore.from_url(url)
    raise ConfigError(f"unknown store URL scheme {scheme!r}")


def open_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url.split('@')[-1]!r}") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_async_engine(parsed, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        require("asyncpg", "a PostgreSQL database")
        return create_async_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
    raise ConfigError(f"unsupported database driver {parsed.drivername!r}; use sqlite+aiosqlite or postgresql+asyncpg")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _token_options(settings: Settings) -> TokenOptions:
    given = settings.issuer
    proposed = given or settings.public_url or f"http://{settings.host}:{settings.port}"
    return TokenOptions(alg=settings.jwt_alg, audience=settings.audience, access_ttl=settings.access_ttl,
                        issuer=proposed, issuer_given=given is not None)


def _login_policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(settings.session_idle, settings.session_absolute, settings.refresh_idle,
                       settings.refresh_absolute, settings.max_logins)


def open_sender(url: str | None) -> Sender | None:
    """``smtp://``, ``smtp+starttls://``, ``smtps://`` (an SMTP server), ``log://`` (the log), or None."""
    if url is None:
        return None
    if url == "log://":
        return LogSender()
    return SmtpSender.from_url(url)


def _mail_options(settings: Settings) -> MailOptions:
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return MailOptions(sender_address=settings.mail_from or f"passgate@{host or 'localhost'}",
                       token_ttl=settings.mail_token_ttl)


def _mailer(settings: Settings, engine: AsyncEngine, secret: bytes, clock: Callable[[], float]) -> Mailer:
    url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return Mailer(engine, open_sender(url), secret, _mail_options(settings), clock=clock)


def _proofs(settings: Settings, store: Store, secret: bytes, clock: Callable[[], float]) -> ProofVerifier:
    nonces = Nonces(secret, clock=clock) if settings.dpop_nonces else None
    return ProofVerifier(store, clock=clock, nonces=nonces)


def build(settings: Settings, *, users: UserRepository | None = None, hooks: Hooks | None = None,
          clock: Callable[[], float] = time.time) -> Deployment:
    """Every service of the deployment that ``settings`` describe (not started).

    ``users`` keeps the accounts in the application's own model; the default is passgate's ``users`` table.
    ``hooks``: the application's own steps around the account flows (:mod:`passgate.hooks`).
    """
    engine = open_engine(settings.resolved_database_url)
    store = open_store(settings.resolved_store)
    secret = load_secret(settings.data_dir, settings.secret.get_secret_value() if settings.secret else None)
    hasher = PasswordHasher(HashPolicy(settings.password_time_cost, settings.password_memory_kib,
                                       settings.password_parallelism))
    logins = LoginRepository(store, clock=clock, revoked_retention=settings.access_ttl + 60)
    accounts_users = users or SqlUserRepository(engine, clock=clock)
    states = AccountStates(engine, clock=clock)
    opener = LoginOpener(logins, _login_policy(settings), users=accounts_users, states=states, clock=clock)
    signing = Signing()
    cookies = CookieLogins(logins, opener, clock=clock)
    limiter = LoginLimiter(store, limit=settings.login_limit[0], window=settings.login_limit[1])
    mailer = _mailer(settings, engine, secret, clock)
    emails = EmailRepository(engine, clock=clock)
    mail_limiter = MailLimiter(store, limit=settings.mail_limit[0], window=settings.mail_limit[1])
    devices = DeviceCookies(secret, max_age=settings.device_cookie_ttl, clock=clock)
    totp = TotpRepository(engine, secret, clock=clock)
    passkeys = PasskeyRepository(engine, clock=clock)
    accounts = Accounts(accounts_users, hasher, limiter, logins, emails, mailer, mail_limiter, devices=devices,
                        states=states, totp=totp, hooks=hooks or Hooks(), passkeys=passkeys)
    schemas: tuple[MetaData, ...] = (credentials_schema.schema, emails_schema.schema, mail_schema.schema,
                                     totp_schema.schema, states_schema.schema, passkeys_schema.schema)
    schemas += () if users else (identity_schema.schema,)
    return Deployment(
        engine=engine, store=store, secret=secret, users=accounts_users, hasher=hasher,
        keys=KeyRepository(engine, secret, clock=clock), signing=signing, logins=logins, cookies=cookies,
        tokens=TokenLogins(logins, opener, signing, secret=secret, clock=clock,
                           rotation=RotationPolicy(race_window=settings.refresh_race_window),
                           roles=states.roles if settings.roles_claim else None),
        verifier=Verifier(logins, cookies, signing, _proofs(settings, store, secret, clock), outage=settings.outage,
                          clock=clock),
        limiter=limiter, accounts=accounts,
        factors=SecondFactors(accounts, totp, MfaChallenges(store, ttl=settings.mfa_token_ttl, clock=clock),
                              accounts_users, logins, clock=clock, passkeys=passkeys),
        passkeys=Passkeys(passkeys, WebauthnChallenges(store, clock=clock), accounts_users, limiter, states=states),
        emails=emails, mailer=mailer,
        token_options=_token_options(settings), schemas=schemas, clock=clock,
    )


def web_options(settings: Settings) -> WebOptions:
    return WebOptions(insecure_cookies=settings.insecure_cookies, cookie_max_age=int(settings.session_absolute),
                      device_cookie_max_age=int(settings.device_cookie_ttl),
                      public_url=settings.public_url, cors_origins=settings.cors_origins,
                      trusted_proxies=settings.trusted_proxies, dpop=settings.dpop,
                      dbsc=settings.dbsc, dbsc_cookie_ttl=settings.dbsc_cookie_ttl)


class Passgate(Gate):
    """One deployment's authentication, ready to install into an app.

    ``Passgate()`` runs on the embedded defaults (SQLite in ``./passgate-data``);
    :meth:`from_env` reads ``PASSGATE_*`` as ``passgate serve`` does, and :meth:`from_settings`
    takes a :class:`~passgate.config.Settings`.  Nothing is global: two instances in one process are
    independent.
    """

    def __init__(self, deployment: Deployment | None = None, options: WebOptions | None = None) -> None:
        if deployment is None:
            settings = load_settings(env=False)
            deployment, options = build(settings), options or web_options(settings)
        super().__init__(deployment, options or WebOptions())

    @classmethod
    def from_settings(cls, settings: Settings, *, users: UserRepository | None = None,
                      hooks: Hooks | None = None) -> Passgate:
        """The deployment that ``settings`` describe; ``users``: the application's own user repository;
        ``hooks``: its own steps around the account flows (:class:`passgate.Hooks`)."""
        return cls(build(settings, users=users, hooks=hooks), web_options(settings))

    @classmethod
    def from_env(cls, *, users: UserRepository | None = None, hooks: Hooks | None = None,
                 **options: Any) -> Passgate:
        """Keyword options (as ``passgate serve`` names them, with ``_``) over ``PASSGATE_*`` variables
        over the defaults."""
        return cls.from_settings(load_settings(**options), users=users, hooks=hooks)
