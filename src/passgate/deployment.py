"""The composition root: one deployment's settings become its database, store, keys and services.

This is the one place where concrete backends are chosen; everything else receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import text

from passgate.accounts import Accounts
from passgate.config import Settings
from passgate.credentials import devices
from passgate.credentials.keys import KeyRepository, KeyRing, load_secret
from passgate.credentials.logins import LoginRepository
from passgate.credentials.manager import LoginManager, LoginPolicy
from passgate.credentials.ratelimit import LoginLimiter
from passgate.credentials.tokens import AccessTokenCodec
from passgate.db import claim_fact, create_schema, open_engine
from passgate.errors import PassgateError, StoreUnavailable
from passgate.identity.passwords import HashPolicy, PasswordHasher
from passgate.identity.users import SqlUserRepository, UserRepository
from passgate.stores import open_store

log = logging.getLogger("passgate")

#: How often a node re-reads the key ring (a rotation reaches every node within this).
KEY_RELOAD_INTERVAL = 2.0


class Deployment:
    """Everything one node needs, built from :class:`Settings`; ``start()`` before use, ``stop()`` after."""

    def __init__(self, settings: Settings, *, users: UserRepository | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = open_engine(settings.resolved_database_url)
        self.store = open_store(settings.resolved_store)
        self.secret = load_secret(settings.data_dir, settings.secret.get_secret_value() if settings.secret else None)
        self.keys = KeyRepository(self.engine, self.secret, clock=clock)
        self.hasher = PasswordHasher(HashPolicy(
            settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
        ))
        self.users: UserRepository = users or SqlUserRepository(self.engine, clock=clock)
        self.logins = LoginRepository(self.store, clock=clock, revoked_retention=settings.access_ttl + 60)
        self.issuer = settings.issuer or settings.public_url or f"http://{settings.host}:{settings.port}"
        self._ring: KeyRing | None = None
        self.manager = LoginManager(
            self.logins, policy=LoginPolicy(
                settings.session_idle, settings.session_absolute, settings.access_ttl,
                settings.refresh_idle, settings.refresh_absolute, settings.max_logins,
            ),
            secret=self.secret, codec=self._codec(), ring=self.ring, outage=settings.outage, clock=clock,
        )
        limit, window = settings.login_limit
        self.limiter = LoginLimiter(self.store, limit=limit, window=window)
        self.accounts = Accounts(self.users, self.hasher, self.limiter, self.manager)
        self._reloader: asyncio.Task[None] | None = None

    def _codec(self) -> AccessTokenCodec:
        return AccessTokenCodec(
            issuer=self.issuer, audience=self.settings.audience, access_ttl=self.settings.access_ttl, clock=self.clock
        )

    def ring(self) -> KeyRing:
        if self._ring is None:
            raise PassgateError("the deployment has not been started")
        return self._ring

    async def start(self, *, node: bool = True) -> None:
        """Open the database and the store.  A node (``serve``, or an app that embeds passgate) also
        claims the deployment's issuer if none is kept yet, loads its signing keys (making the first
        one) and follows the store's change feed; an admin command (``node=False``) does none of it,
        so that running one on a fresh data dir fixes neither the issuer nor the key's algorithm."""
        await create_schema(self.engine)
        if not node:
            return
        if self.settings.issuer is None:
            self.issuer = await claim_fact(self.engine, "issuer", self.issuer)
            self.manager.codec = self._codec()
        self._ring = await self.keys.ensure(self.settings.jwt_alg, access_ttl=self.settings.access_ttl)
        await self.logins.start()
        devices.warm()  # not at the first login
        self._reloader = asyncio.create_task(self._reload_keys(), name="passgate-key-reload")

    async def _reload_keys(self) -> None:
        while True:
            await asyncio.sleep(KEY_RELOAD_INTERVAL)
            try:
                ring = await self.keys.load(self.settings.jwt_alg, access_ttl=self.settings.access_ttl)
            except Exception as exc:  # a database hiccup must not kill the reloader
                log.warning("key reload failed: %s", type(exc).__name__)
                continue
            if self._ring is None or ring.version != self._ring.version:
                self._ring = ring
                self.manager.verified.clear()

    async def stop(self) -> None:
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
