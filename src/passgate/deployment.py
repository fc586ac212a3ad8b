"""One deployment's services, built by the composition root (:mod:`passgate.root`), and their life:
``start()`` before use, ``stop()`` after.

Starting a node creates the tables of the parts it runs, fixes the deployment's issuer on first
start, loads the signing keys (making the first one), follows the store's change feed, re-reads
the key ring every :data:`KEY_RELOAD_INTERVAL` seconds so that a rotation reaches every node, and
delivers the mail outbox (:mod:`passgate.mail.outbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.accounts import Accounts
from passgate.config import Algorithm
from passgate.credentials import devices
from passgate.credentials.cookies import CookieLogins
from passgate.credentials.keys import KeyRepository
from passgate.credentials.logins import LoginRepository
from passgate.credentials.ratelimit import LoginLimiter
from passgate.credentials.refresh import TokenLogins
from passgate.credentials.schema import claim_fact
from passgate.credentials.signing import Signing
from passgate.credentials.tokens import AccessTokenCodec
from passgate.credentials.verifier import Verifier
from passgate.errors import StoreUnavailable
from passgate.identity.emails import EmailRepository
from passgate.identity.passwords import PasswordHasher
from passgate.identity.users import UserRepository
from passgate.mail.mailer import Mailer
from passgate.mfa import SecondFactors
from passgate.passkeys import Passkeys
from passgate.stores.base import Store

log = logging.getLogger("passgate")

#: How often a node re-reads the key ring (a rotation reaches every node within this).
KEY_RELOAD_INTERVAL = 2.0


@dataclass(frozen=True)
class TokenOptions:
    """What access tokens say and how they are signed."""

    alg: Algorithm = "EdDSA"
    audience: str = "passgate"
    access_ttl: float = 600.0
    #: The issuer a node proposes; the database keeps the first node's unless ``issuer_given``.
    issuer: str = "http://127.0.0.1:8000"
    issuer_given: bool = False


async def create_schema(engine: AsyncEngine, *schemas: MetaData) -> None:
    """Create the missing tables of each schema (idempotent; safe when several nodes start together)."""
    async with engine.begin() as conn:
        for schema in schemas:
            await conn.run_sync(schema.create_all, checkfirst=True)


@dataclass(eq=False)
class Deployment:
    engine: AsyncEngine
    store: Store
    secret: bytes = field(repr=False)
    users: UserRepository
    hasher: PasswordHasher
    keys: KeyRepository
    signing: Signing
    logins: LoginRepository
    cookies: CookieLogins
    tokens: TokenLogins
    verifier: Verifier
    limiter: LoginLimiter
    accounts: Accounts
    #: Second factors (TOTP and recovery codes) and a login's second step.
    factors: SecondFactors
    #: Passkeys (WebAuthn): adding them, and logging in with one.
    passkeys: Passkeys
    token_options: TokenOptions
    emails: EmailRepository
    #: Mail: the tokens of mailed links, the outbox and its delivery loop.
    mailer: Mailer
    #: The tables of the parts this deployment runs.
    schemas: tuple[MetaData, ...]
    clock: Callable[[], float] = time.time
    _reloader: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self, *, node: bool = True) -> None:
        """Open the database and the store.  A node (``serve``, or an app that embeds passgate) also
        claims the deployment's issuer if none is kept yet, loads its signing keys (making the first
        one) and follows the store's change feed; an admin command (``node=False``) does none of it,
        so that running one on a fresh data dir fixes neither the issuer nor the key's algorithm."""
        await create_schema(self.engine, *self.schemas)
        if not node:
            return
        options = self.token_options
        issuer = options.issuer if options.issuer_given else await claim_fact(self.engine, "issuer", options.issuer)
        codec = AccessTokenCodec(issuer=issuer, audience=options.audience, access_ttl=options.access_ttl,
                                 clock=self.clock)
        self.signing.start(codec, await self.keys.ensure(options.alg, access_ttl=options.access_ttl))
        await self.logins.start()
        devices.warm()  # not at the first login
        self._reloader = asyncio.create_task(self._reload_keys(), name="passgate-key-reload")
        self.mailer.start()

    async def _reload_keys(self) -> None:
        options = self.token_options
        while True:
            await asyncio.sleep(KEY_RELOAD_INTERVAL)
            try:
                ring = await self.keys.load(options.alg, access_ttl=options.access_ttl)
            except Exception as exc:  # a database hiccup must not kill the reloader
                log.warning("key reload failed: %s", type(exc).__name__)
                continue
            self.signing.rotate(ring)

    async def stop(self) -> None:
        await self.mailer.stop()
        if self._reloader is not None:
            self._reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloader
        await self.logins.stop()
        await self.store.aclose()
        await self.engine.dispose()
        self.hasher.close()

    async def ready(self) -> dict[str, bool]:
        """Whether the database and the store answer."""
        checks = {"database": True, "store": True}
        try:
            async with asyncio.timeout(2), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            checks["database"] = False
        try:
            async with asyncio.timeout(2):
                await self.store.ping()
        except (StoreUnavailable, TimeoutError):
            checks["store"] = False
        return checks
