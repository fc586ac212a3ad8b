"""The revocation count's audit: which counted numbers mean a lost notice."""

from __future__ import annotations

from passgate.credentials.ledger import GRACE, LEDGER_KEY, LEDGER_WINDOW, SEQ_PREFIX, RevocationLedger
from passgate.stores import MemoryStore


async def test_a_counted_revocation_never_heard_is_a_lost_notice() -> None:
    store = MemoryStore()
    ledger = RevocationLedger(store)
    assert await ledger.audit(0.0) is False  # the first reading only sets where to start
    heard = await ledger.mark()
    assert heard == SEQ_PREFIX + b"1"
    ledger.heard(heard)
    assert await ledger.audit(0.1) is False  # counted and heard
    await ledger.mark()  # counted, its notice lost
    assert await ledger.audit(0.2) is False  # it may still be on its way...
    assert await ledger.audit(0.2 + GRACE / 2) is False
    assert await ledger.audit(0.3 + GRACE) is True  # ...but not for longer than GRACE
    assert await ledger.audit(1.0) is False  # resynchronised: that one is settled


async def test_a_late_notice_settles_its_number() -> None:
    store = MemoryStore()
    ledger = RevocationLedger(store)
    await ledger.audit(0.0)
    late = await ledger.mark()
    assert late is not None
    assert await ledger.audit(0.1) is False
    ledger.heard(late)
    assert await ledger.audit(0.2 + GRACE) is False


async def test_a_count_that_goes_back_resynchronises() -> None:
    store = MemoryStore()
    ledger = RevocationLedger(store)
    for _ in range(3):
        ledger.heard(await ledger.mark() or b"")
    assert await ledger.audit(0.0) is False
    await store.delete(LEDGER_KEY)  # flushed, or a failover lost the last increments
    await store.incr(LEDGER_KEY, LEDGER_WINDOW)
    assert await ledger.audit(0.1) is True


async def test_garbage_numbers_are_ignored() -> None:
    ledger = RevocationLedger(MemoryStore())
    ledger.heard(SEQ_PREFIX + b"not a number")
    assert await ledger.audit(0.0) is False
