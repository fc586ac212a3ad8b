"""Login records in the store, with a node-local cache kept current by the store's change notices.

Reading a login on every request would cost a store round trip per request.  Instead each node
keeps the records it has read, and trusts one only while it would learn of a change within the
revocation bound (1 s):

* an entry read less than ``MAX_AGE`` (0.5 s) ago is always trusted;
* an older entry, up to ``TRUST_CAP`` (3 s) old, is trusted while the change feed is live, the
  revocation count was read lately, and the entry was read after the feed's last
  resynchronisation.  Every revocation publishes the login's id; a node drops the entry when the
  notice arrives.
* The feed is live while the store's ``listen()`` has yielded a heartbeat within
  ``FEED_SILENCE`` (0.6 s).  A heartbeat is a round trip on the feed itself: on Redis, this
  node's own heartbeats published on the notice channel (on a cluster through each other master) and
  received back, which proves that a notice published before them was delivered; on SQLite, a
  poll of the notice table that found no notice swept before it was read.  A feed that falls
  silent or restarts sends every read back to the store.
* A notice lost on its own while the feed works (its publisher died between the delete and the
  publish, a cluster bus link dropped it between two heartbeats) is caught by the revocation
  count (:mod:`passgate.credentials.ledger`): every revocation counts itself in the store before
  its delete and publishes its number; a number counted but not heard within 0.3 s makes the node
  resynchronise.  The count is read every 0.2 s, and trust ends ``AUDIT_SILENCE`` (0.6 s) after
  the last reading that worked.  ``TRUST_CAP`` is the last resort behind both.

A notice that fails to publish after the delete is retried at once, then in the background until
it goes out; the revoke itself answers StoreUnavailable, since other nodes may not know yet (the
count tells them within the bound anyway).

Cache ages are measured on the local monotonic clock (``monotonic``), never the wall clock, which
may step; a record's own expiry stays on the wall clock, since every node shares it.

The node that revokes drops its own entry at once, and remembers revoked ids for the life of an
access token so that a store outage under ``--outage grace`` still refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from passgate.credentials.ledger import AUDIT_INTERVAL, SEQ_PREFIX, RevocationLedger
from passgate.credentials.records import Login, decode, encode
from passgate.errors import StoreUnavailable
from passgate.stores.base import Store

log = logging.getLogger("passgate.logins")

MAX_AGE = 0.5
#: Heartbeats come every 0.25 s; trust ends this long after the last one (one may be late).
FEED_SILENCE = 0.6
#: The oldest entry a live feed may vouch for: the last resort against a lost notice that neither the
#: heartbeats nor the revocation count (ledger.py) caught.
TRUST_CAP = 3.0
#: Trust also ends this long after the revocation count was last read (it is read every 0.2 s).
AUDIT_SILENCE = 0.6
#: Publishing a notice: attempts while the request waits, then in the background until it goes out.
PUBLISH_ATTEMPTS = 3
PUBLISH_RETRY = 0.05
CACHE_ENTRIES = 200_000
REVOKED_PREFIX = b"r:"
#: A login whose secret changed: other nodes drop what they hold of it and read it again.
CHANGED_PREFIX = b"c:"


def login_key(user_id: str, login_id: str) -> str:
    return f"pg:{{{user_id}}}:l:{login_id}"


def index_key(user_id: str) -> str:
    return f"pg:{{{user_id}}}:ix"


class _Entry:
    __slots__ = ("capped_at", "ends_at", "fetched_at", "fresh_until", "login", "raw")

    def __init__(self, login: Login, raw: bytes, fetched_at: float, *, shared: bool) -> None:
        self.login, self.raw, self.fetched_at = login, raw, fetched_at
        # read on every request: computed once
        self.ends_at = login.ends_at
        self.fresh_until = fetched_at + MAX_AGE if shared else math.inf  # no other node writes a private store
        self.capped_at = fetched_at + TRUST_CAP


class LoginRepository:
    """Create, read, update and revoke login records; one per node, shared by every request."""

    def __init__(
        self, store: Store, *, clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic, revoked_retention: float = 3600.0,
    ) -> None:
        """``clock`` is the wall clock of records' expiry (shared by every node); ``monotonic`` the
        local clock of cache ages, which must not step."""
        self._store = store
        self._shared = store.shared
        self._clock = clock
        self._monotonic = monotonic
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._revoked: OrderedDict[str, float] = OrderedDict()
        self._retention = revoked_retention
        self._feed_alive_at = -math.inf
        #: Until when (local time) the feed and the revocation count vouch for entries read since the
        #: last resynchronisation: the earlier of the two ends, kept by the feed and the auditor.
        self._vouched_until = -math.inf
        self._resynced_at = math.inf
        self._task: asyncio.Task[None] | None = None
        #: Notices that failed to publish, retried by ``_flusher`` until they go out.
        self._unsent: dict[bytes, None] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._ledger = RevocationLedger(store)
        self._audited_at = -math.inf
        self._auditor: asyncio.Task[None] | None = None

    # -- the change feed -------------------------------------------------------------

    async def start(self) -> None:
        if self._shared and self._task is None:
            self._task = asyncio.create_task(self._follow(), name="passgate-login-feed")
            self._auditor = asyncio.create_task(self._audit(), name="passgate-revocation-audit")

    async def stop(self) -> None:
        for task in (self._task, self._auditor, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._auditor = self._flusher = None

    async def _follow(self) -> None:
        async for message in self._store.listen():
            now = self._monotonic()
            if message is None:  # notices may have been lost: forget, and trust no feed until it beats again
                self._cache.clear()
                self._resynced_at = now
                self._feed_alive_at = -math.inf
                self._vouch()
            elif message == b"":  # only a heartbeat proves the feed delivers; another's notice does not
                self._feed_alive_at = now
                self._vouch()
            elif message.startswith(REVOKED_PREFIX):
                self._forget(message[len(REVOKED_PREFIX) :].decode(errors="replace"), now)
            elif message.startswith(CHANGED_PREFIX):
                self._cache.pop(message[len(CHANGED_PREFIX) :].decode(errors="replace"), None)
            elif message.startswith(SEQ_PREFIX):
                self._ledger.heard(message)

    async def _audit(self) -> None:
        """Read the revocation count now and then; one counted but never heard means a lost notice."""
        while True:
            await asyncio.sleep(AUDIT_INTERVAL)
            now = self._monotonic()
            try:
                lost = await self._ledger.audit(now)
            except StoreUnavailable:
                continue  # unaudited: the cache's trust runs out by itself
            if lost:
                log.warning("a revocation notice was lost; resynchronising the login cache")
                self._cache.clear()
                self._resynced_at = now
            self._audited_at = now
            self._vouch()

    def _vouch(self) -> None:
        self._vouched_until = min(self._feed_alive_at + FEED_SILENCE, self._audited_at + AUDIT_SILENCE)

    def _forget(self, login_id: str, now: float) -> None:
        self._cache.pop(login_id, None)
        self._revoked[login_id] = now
        self._revoked.move_to_end(login_id)
        while self._revoked and next(iter(self._revoked.values())) < now - self._retention:
            self._revoked.popitem(last=False)

    def known_revoked(self, login_id: str) -> bool:
        """Whether this node has seen the login revoked (for ``--outage grace``)."""
        return login_id in self._revoked

    def last_known(self, user_id: str, login_id: str) -> Login | None:
        """Whatever this node last read of the login, however old (for ``--outage grace``)."""
        entry = self._cache.get(login_id)
        return entry.login if entry is not None and entry.login.user_id == user_id else None

    def _remember(self, login: Login, raw: bytes, fetched_at: float) -> None:
        if self._revoked.get(login.id, -math.inf) >= fetched_at:
            return  # a revocation arrived while we were reading
        self._cache[login.id] = _Entry(login, raw, fetched_at, shared=self._shared)
        self._cache.move_to_end(login.id)
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    # -- records ---------------------------------------------------------------------

    async def add(self, login: Login) -> None:
        now, fetched = self._clock(), self._monotonic()
        raw = encode(login)
        await self._store.set(login_key(login.user_id, login.id), raw, login.ttl(now))
        await self._store.add_member(index_key(login.user_id), login.id, login.ttl(now))
        self._remember(decode(login.id, raw), raw, fetched)  # as every later read will see it

    async def get(self, user_id: str, login_id: str, *, fresh: bool = False) -> Login | None:
        """The live login, or None; ``fresh`` skips the cache (before a compare-and-set)."""
        found = await self._read(user_id, login_id, fresh=fresh)
        return found[0] if found else None

    def cached(self, user_id: str, login_id: str, now: float) -> Login | None:
        """The login as this node's cache holds it, if trusted and alive at ``now``; None means
        ask :meth:`get`.  Synchronous: a request that finds its login here waits on nothing."""
        entry = self._cache.get(login_id)
        if entry is None or now >= entry.ends_at or entry.login.user_id != user_id:
            return None
        # Trusted while fresh; or, below the cap, while feed and count vouch for what was read since the
        # last resynchronisation (the module docstring says why).  Local time: the wall clock may step.
        local = self._monotonic()
        if local < entry.fresh_until or (
            local < self._vouched_until and local < entry.capped_at and entry.fetched_at >= self._resynced_at
        ):
            return entry.login
        return None

    async def _read(self, user_id: str, login_id: str, *, fresh: bool) -> tuple[Login, bytes] | None:
        now, fetched = self._clock(), self._monotonic()  # before the read: its age counts from here
        login = None if fresh else self.cached(user_id, login_id, now)
        if login is not None:
            return login, self._cache[login_id].raw
        raw = await self._store.get(login_key(user_id, login_id))
        if raw is None:
            self._cache.pop(login_id, None)
            return None
        login = decode(login_id, raw)
        if not login.alive(now):
            return None
        self._remember(login, raw, fetched)
        return login, raw

    async def update(self, before: Login, after: Login, *, notify: bool = False) -> bool:
        """Write ``after`` if the store still holds ``before``; False if it changed or was revoked.

        ``notify``: the change must reach every node within the revocation bound (a new secret
        ends the old one); other updates (a later idle expiry) may wait for a node's next read."""
        found = await self._read(before.user_id, before.id, fresh=False)
        if found is None or found[0] != before:
            found = await self._read(before.user_id, before.id, fresh=True)
            if found is None or found[0] != before:
                return False
        now, fetched = self._clock(), self._monotonic()
        raw = encode(after)
        mark = await self._ledger.mark() if notify and self._shared else None  # counted like a revocation
        written = await self._store.replace(login_key(after.user_id, after.id), found[1], raw, after.ttl(now))
        if written:
            self._remember(after, raw, fetched)  # this node knows at once, whatever the notices meet
        else:
            self._cache.pop(after.id, None)
        notices = [CHANGED_PREFIX + after.id.encode()] if written and notify else []
        if mark:
            notices.append(mark)  # also when not written: a number never heard would resynchronise every node
        if notices:
            await self._announce(notices)
        return bool(written)

    async def list(self, user_id: str) -> list[Login]:
        """The user's live logins, oldest first."""
        ids = await self._store.members(index_key(user_id))
        raws = await self._store.get_many([login_key(user_id, i) for i in ids]) if ids else []
        now = self._clock()
        live = [decode(i, raw) for i, raw in zip(ids, raws, strict=True) if raw is not None]
        live = [login for login in live if login.alive(now)]
        gone = set(ids) - {login.id for login in live}
        if gone:
            await self._store.remove_members(index_key(user_id), *gone)
        return sorted(live, key=lambda login: (login.created_at, login.id))

    async def revoke(self, user_id: str, login_ids: Sequence[str]) -> int:
        """Delete logins; every node refuses them within the revocation bound, this one at once."""
        if not login_ids:
            return 0
        now = self._monotonic()
        for login_id in login_ids:
            self._forget(login_id, now)
        mark = await self._ledger.mark() if self._shared else None  # before the delete: see ledger.py
        count = await self._store.delete(*(login_key(user_id, i) for i in login_ids))
        notices = [REVOKED_PREFIX + i.encode() for i in login_ids]
        try:
            await self._store.remove_members(index_key(user_id), *login_ids)
        finally:  # once the delete is done, the notices go out whatever else fails
            await self._announce([*notices, mark] if mark else notices)
        return count

    async def _announce(self, notices: Sequence[bytes]) -> None:
        """Publish ``notices``, retrying a few times at once; what still fails is left to the
        background flusher, and StoreUnavailable tells the caller that other nodes may not know yet."""
        pending = tuple(notices)
        for attempt in range(PUBLISH_ATTEMPTS):
            if attempt:
                await asyncio.sleep(PUBLISH_RETRY * attempt)
            pending = await self._publish_each(pending)
            if not pending:
                return
        self._unsent.update(dict.fromkeys(pending))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="passgate-notice-retry")
        raise StoreUnavailable("the revocation notice could not be published yet; it is being retried")

    async def _publish_each(self, notices: Iterable[bytes]) -> tuple[bytes, ...]:
        """The notices that failed to publish, in order (a number goes out after its ids)."""
        failed: tuple[bytes, ...] = ()
        for notice in notices:
            try:
                await self._store.publish(notice)
            except StoreUnavailable:
                failed += (notice,)
        return failed

    async def _flush(self) -> None:
        """Publish the notices left unsent until none is left; ends with them."""
        delay = PUBLISH_RETRY
        while self._unsent:
            await asyncio.sleep(delay)
            tried = tuple(self._unsent)
            failed = await self._publish_each(tried)
            for notice in tried:
                if notice not in failed:
                    del self._unsent[notice]
            if self._unsent:
                log.warning("%d revocation notices not published yet; retrying", len(self._unsent))
            delay = min(1.0, delay * 2)

    async def revoke_all(self, user_id: str, *, keep: str | None = None) -> int:
        ids = [i for i in await self._store.members(index_key(user_id)) if i != keep]
        return await self.revoke(user_id, ids)
