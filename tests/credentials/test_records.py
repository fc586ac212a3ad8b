"""The login record's encoding, and the node cache's trust rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from passgate.credentials.logins import LoginRepository, login_key
from passgate.credentials.records import Login, RefreshEntry, decode, encode
from passgate.stores import MemoryStore, SqliteStore

NOW = 1_800_000_000.0
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def a_login(**changes: object) -> Login:
    fields: dict[str, object] = dict(
        id="L" * 22, user_id="u" * 22, username="한글이름", kind="token", created_at=NOW, last_seen_at=NOW + 1.5,
        expires_at=NOW + 86400, idle_ttl=14 * 86400.0, user_agent=UA, ip="2001:db8::1",
        refresh=(RefreshEntry(b"a" * 16), RefreshEntry(b"b" * 16, NOW)),
    )
    fields.update(changes)
    return Login(**fields)  # type: ignore[arg-type]


def test_roundtrip() -> None:
    login = a_login()
    assert decode(login.id, encode(login)) == login
    cookie = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16, user_agent="")
    assert decode(cookie.id, encode(cookie)) == cookie


def test_a_kept_refresh_answer_roundtrips() -> None:
    login = a_login(refresh=(RefreshEntry(b"a" * 16, NOW, b"x" * 600), RefreshEntry(b"b" * 16)))
    assert decode(login.id, encode(login)) == login


def test_a_record_from_before_kept_answers_is_read() -> None:
    login = a_login()
    v4 = encode(login)
    head = v4[: len(v4) - 1 - 2 * 26 - 1 - 1]  # less the entries, the (empty) bound key and the (empty) method
    entries = b"a" * 16 + (0).to_bytes(8, "little") + b"b" * 16 + round(NOW * 1000).to_bytes(8, "little")
    v2 = bytes([2]) + head[1:] + bytes([2]) + entries
    assert decode(login.id, v2) == login


JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

# A token login as passgate wrote it before logins could be bound (record version 2).
VERSION_2 = bytes.fromhex(
    "020100505c18a3010000dc555c18a301000000ac821da30100000008194800000000167575757575757575757575757575757575"
    "757575757503616e6e134368726f6d6520313236206f6e204c696e7578093139322e302e322e3100026161616161616161616161"
    "616161616100000000000000006262626262626262626262626262626200505c18a3010000"
)


def test_bound_roundtrip() -> None:
    login = a_login(jkt=JKT)
    again = decode(login.id, encode(login))
    assert again == login and again.bound and again.jkt == JKT
    assert not decode("x", encode(a_login())).bound


def test_records_stored_before_binding_are_still_read() -> None:
    login = decode("L" * 22, VERSION_2)
    assert login == a_login(username="ann", user_agent="Chrome 126 on Linux", ip="192.0.2.1")
    assert not login.bound
    assert decode(login.id, encode(login)) == login  # and written again as the current version
    assert encode(login)[0] == 4


def test_how_a_login_was_made_roundtrips() -> None:
    for method in ("password", "password+totp", "password+recovery_code", "passkey"):
        login = a_login(method=method, jkt=JKT)
        assert decode(login.id, encode(login)).method == method


def test_records_stored_before_methods_read_as_password_logins() -> None:
    login = a_login(jkt=JKT)
    v3 = bytes([3]) + encode(login)[1:-1]  # version 3 ended with the bound key
    assert decode(login.id, v3) == login and decode(login.id, v3).method == "password"
    cookie = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
    assert decode(cookie.id, bytes([3]) + encode(cookie)[1:-1]) == cookie


def test_unknown_record_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        decode("x", b"\x09" + encode(a_login())[1:])


def test_records_are_compact() -> None:
    size = len(encode(a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)))
    print(f"cookie login record with a browser user agent: {size} bytes")
    assert size < 250


def test_long_user_agents_are_cut() -> None:
    login = decode("x", encode(a_login(user_agent="é" * 500)))
    assert 0 < len(login.user_agent) <= 120


def test_alive_and_expiry() -> None:
    login = a_login(kind="cookie", last_seen_at=NOW, idle_ttl=60.0, expires_at=NOW + 30)
    assert login.alive(NOW + 29) and not login.alive(NOW + 30)
    assert login.ends_at == NOW + 30


async def test_revocation_elsewhere_is_seen_within_the_bound(tmp_path: Path) -> None:
    clock = [NOW]
    store_a, store_b = (SqliteStore(tmp_path / "s.db", clock=lambda: clock[0]) for _ in range(2))
    node_a = LoginRepository(store_a, clock=lambda: clock[0], monotonic=lambda: clock[0])
    node_b = LoginRepository(store_b, clock=lambda: clock[0], monotonic=lambda: clock[0])
    login = a_login(kind="cookie", refresh=(), secret_digest=b"s" * 16)
    await node_a.add(login)
    assert await node_b.get(login.user_id, login.id) is not None  # now cached on node b
    await store_a.delete(login_key(login.user_id, login.id))  # behind node b's back, no notice
    assert await node_b.get(login.user_id, login.id) is not None  # a fresh entry may answer...
    clock[0] += 0.6
    assert await node_b.get(login.user_id, login.id) is None  # ...but not past the bound without a live feed
    await store_a.aclose()
    await store_b.aclose()


async def test_the_revoking_node_forgets_at_once() -> None:
    store = MemoryStore()
    repo = LoginRepository(store)
    login = a_login()
    await repo.add(login)
    assert await repo.revoke(login.user_id, [login.id]) == 1
    assert await repo.get(login.user_id, login.id) is None
    assert repo.known_revoked(login.id)
    assert await repo.list(login.user_id) == []
