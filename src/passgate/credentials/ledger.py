"""The deployment's count of revocations: a durable mark by which a node notices a notice it never got.

A revocation notice can be lost on its own while the change feed works: its publisher dies between
the delete and the publish, or a cluster bus link drops it and reconnects between two heartbeats.
No heartbeat sees that.  So before its delete, every revocation counts itself in the store
(``incr`` on one key, :data:`LEDGER_KEY`) and, after its notices, publishes its number
(``s:<n>``).  Every node reads the count every :data:`AUDIT_INTERVAL`; a number that the store
has counted but this node has not heard for :data:`GRACE` means a lost notice, and the node
resynchronises (forgets its cache).  A node that cannot read the count cannot tell, and trusts its
cache no longer than a node without a feed.

The count going back (the key flushed, a failover that lost the last increments) is a
resynchronisation too.  Nodes of an older version ignore ``s:`` notices and publish none.
"""

from __future__ import annotations

import asyncio

from passgate.errors import StoreUnavailable
from passgate.stores.base import Store

LEDGER_KEY = "pg:{feed}:revocations"
#: The count never expires in practice (``incr`` counts in a window).
LEDGER_WINDOW = 100 * 365 * 86400.0
SEQ_PREFIX = b"s:"
#: How often a node reads the count, and how long a counted revocation may go unheard.
AUDIT_INTERVAL = 0.2
GRACE = 0.3
#: A logout does not wait longer than this for its number (the count's master may be failing over).
MARK_TIMEOUT = 0.5
#: More unheard numbers than this at once: resynchronise rather than track them one by one.
MAX_PENDING = 1000


class RevocationLedger:
    """One node's side of the count: marking its own revocations, auditing everyone's."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: int | None = None
        self._heard: set[int] = set()
        #: number -> when this node first saw it counted and unheard
        self._pending: dict[int, float] = {}

    async def mark(self) -> bytes | None:
        """Count one more revocation (before its delete); the notice that names its number, or None
        when the store did not answer (the revocation then goes on unnumbered)."""
        try:
            async with asyncio.timeout(MARK_TIMEOUT):
                number, _ = await self._store.incr(LEDGER_KEY, LEDGER_WINDOW)
        except (StoreUnavailable, TimeoutError):
            return None  # most likely no node can read the count then, so none trusts its cache past MAX_AGE
        return SEQ_PREFIX + b"%d" % number

    def heard(self, notice: bytes) -> None:
        """An ``s:<n>`` notice arrived."""
        try:
            number = int(notice[len(SEQ_PREFIX) :])
        except ValueError:
            return
        self._pending.pop(number, None)
        if self._known is None or number > self._known:
            self._heard.add(number)

    async def audit(self, now: float) -> bool:
        """Read the count; True when a notice was lost (resynchronise).  Raises StoreUnavailable."""
        count, _ = await self._store.peek_count(LEDGER_KEY)
        return self._check(count, now)

    def _check(self, count: int, now: float) -> bool:
        known, self._known = self._known, count
        if known is None:  # the first reading: the feed's own resynchronisation covers what came before
            self._heard = {n for n in self._heard if n > count}
            return False
        if count < known or count - known > MAX_PENDING:
            self._pending.clear()
            self._heard.clear()
            return True
        for number in range(known + 1, count + 1):
            if number not in self._heard:
                self._pending[number] = now
        self._heard = {n for n in self._heard if n > count}
        if any(now - since > GRACE for since in self._pending.values()):
            self._pending.clear()
            return True
        return False
