"""Signing keys in a real SQLite database: creation races, rotation, retirement, sealing at rest."""

from __future__ import annotations

import asyncio
import base64
import stat
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.config import Algorithm
from passgate.credentials.keys import (
    ROTATION_LEEWAY,
    KeyRepository,
    derive_secret,
    load_secret,
    signing_keys,
)
from passgate.credentials.schema import schema
from passgate.credentials.tokens import AccessTokenCodec
from passgate.errors import ConfigError, NotFound, TokenInvalid
from passgate.root import open_engine

SECRET = bytes(range(32))
ISSUER = "http://127.0.0.1:8000"
TTL = 600.0
ALGS: tuple[Algorithm, ...] = ("EdDSA", "ES256", "HS256")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def new_engine(path: Path) -> AsyncEngine:
    engine = open_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: schema.create_all(sync, tables=[signing_keys]))
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await new_engine(tmp_path / "x.db")
    yield engine
    await engine.dispose()


@pytest.fixture
def repo(engine: AsyncEngine, clock: list[float]) -> KeyRepository:
    return KeyRepository(engine, SECRET, clock=lambda: clock[0])


@pytest.fixture
def codec(clock: list[float]) -> AccessTokenCodec:
    return AccessTokenCodec(issuer=ISSUER, audience="passgate", access_ttl=TTL, clock=lambda: clock[0])


@pytest.fixture(params=ALGS)
def alg(request: pytest.FixtureRequest) -> Any:
    return request.param


async def count_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(select(signing_keys.c.kid))).all())


# -- creation -------------------------------------------------------------------------------------


async def test_ensure_creates_the_first_key_once(repo: KeyRepository, engine: AsyncEngine, alg: Any) -> None:
    first = await repo.ensure(alg, access_ttl=TTL)
    second = await repo.ensure(alg, access_ttl=TTL)
    assert first.current.kid == second.current.kid and first.alg == alg
    assert 8 <= len(first.current.kid) <= 11
    assert list(first.keys) == [first.current.kid]
    assert await count_rows(engine) == 1


async def test_ensure_is_race_safe_across_processes(tmp_path: Path, clock: list[float], alg: Any) -> None:
    engines = [await new_engine(tmp_path / "shared.db") for _ in range(4)]
    try:
        repos = [KeyRepository(engine, SECRET, clock=lambda: clock[0]) for engine in engines]
        rings = await asyncio.gather(*(repo.ensure(alg, access_ttl=TTL) for repo in repos))
        assert len({ring.current.kid for ring in rings}) == 1
        assert await count_rows(engines[0]) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_ensure_tolerates_losing_the_race(
    repo: KeyRepository, engine: AsyncEngine, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = await repo.ensure("EdDSA", access_ttl=TTL)
    late = KeyRepository(engine, SECRET, clock=lambda: clock[0])

    async def saw_nothing(alg: str) -> None:  # it looked before the winner's insert landed
        return None

    monkeypatch.setattr(late, "_newest", saw_nothing)
    assert (await late.ensure("EdDSA", access_ttl=TTL)).current.kid == winner.current.kid
    assert await count_rows(engine) == 1


async def test_load_without_a_key(repo: KeyRepository) -> None:
    with pytest.raises(NotFound):
        await repo.load("EdDSA", access_ttl=TTL)


async def test_algorithms_have_separate_rings(repo: KeyRepository) -> None:
    eddsa = await repo.ensure("EdDSA", access_ttl=TTL)
    hs256 = await repo.ensure("HS256", access_ttl=TTL)
    assert eddsa.current.kid != hs256.current.kid
    assert set(eddsa.keys).isdisjoint(hs256.keys)


# -- rotation and retirement ----------------------------------------------------------------------


async def test_rotation_keeps_old_tokens_valid(
    repo: KeyRepository, codec: AccessTokenCodec, clock: list[float], alg: Any
) -> None:
    before = await repo.ensure(alg, access_ttl=TTL)
    old_token, _ = codec.issue(before, sub="user", sid="login")
    clock[0] += 100
    info = await repo.rotate(alg)
    after = await repo.load(alg, access_ttl=TTL)
    new_token, _ = codec.issue(after, sub="user", sid="login")

    assert info["kid"] == after.current.kid != before.current.kid
    assert info["status"] == "current" and info["alg"] == alg
    assert after.version != before.version
    assert codec.verify(after, old_token).sub == codec.verify(after, new_token).sub == "user"
    with pytest.raises(TokenInvalid):
        codec.verify(before, new_token)  # a node that has not reloaded yet
    published = [key["kid"] for key in after.jwks()["keys"]]
    assert published == ([] if alg == "HS256" else [after.current.kid, before.current.kid])
    statuses = [(key["kid"], key["status"]) for key in await repo.list(alg)]
    assert statuses == [(after.current.kid, "current"), (before.current.kid, "previous")]


async def test_a_superseded_key_retires_once_its_tokens_are_dead(
    repo: KeyRepository, codec: AccessTokenCodec, clock: list[float], alg: Any
) -> None:
    old = (await repo.ensure(alg, access_ttl=TTL)).current
    clock[0] += 100
    old_token, _ = codec.issue(await repo.load(alg, access_ttl=TTL), sub="user", sid="login")
    await repo.rotate(alg)
    superseded_at = clock[0]
    retires_at = superseded_at + TTL + ROTATION_LEEWAY

    clock[0] = retires_at - 1
    ring = await repo.load(alg, access_ttl=TTL)
    assert old.kid in ring.keys and ring.refresh_at == retires_at

    clock[0] = retires_at
    ring = await repo.load(alg, access_ttl=TTL)
    assert list(ring.keys) == [ring.current.kid] and ring.refresh_at is None
    assert all(key["kid"] != old.kid for key in ring.jwks()["keys"])
    with pytest.raises(TokenInvalid):
        codec.verify(ring, old_token)
    assert [key["kid"] for key in await repo.list(alg, access_ttl=TTL)] == [ring.current.kid]
    assert len(await repo.list(alg)) == 2  # still stored, for export


async def test_concurrent_rotations_both_happen(tmp_path: Path, clock: list[float]) -> None:
    engines = [await new_engine(tmp_path / "shared.db") for _ in range(2)]
    try:
        repos = [KeyRepository(engine, SECRET, clock=lambda: clock[0]) for engine in engines]
        await repos[0].ensure("EdDSA", access_ttl=TTL)
        rotated = await asyncio.gather(*(repo.rotate("EdDSA") for repo in repos))
        assert rotated[0]["kid"] != rotated[1]["kid"]
        listed = await repos[0].list("EdDSA")
        assert len(listed) == 3 and [key["status"] for key in listed] == ["current", "previous", "previous"]
    finally:
        for engine in engines:
            await engine.dispose()


# -- private material -----------------------------------------------------------------------------


async def test_private_keys_are_sealed_at_rest(
    repo: KeyRepository, engine: AsyncEngine, tmp_path: Path, alg: Any
) -> None:
    ring = await repo.ensure(alg, access_ttl=TTL)
    member = (await repo.export(ring.current.kid))["k" if alg == "HS256" else "d"]
    material = unb64(member)
    assert len(material) == 32
    async with engine.connect() as conn:
        row = (await conn.execute(select(signing_keys))).one()
    assert material not in row.private_key and member not in str(row.public_jwk)
    on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("x.db*"))
    assert row.private_key in on_disk and material not in on_disk


async def test_a_wrong_secret_cannot_open_the_keys(
    repo: KeyRepository, engine: AsyncEngine, clock: list[float]
) -> None:
    kid = (await repo.ensure("EdDSA", access_ttl=TTL)).current.kid
    other = KeyRepository(engine, bytes(32), clock=lambda: clock[0])
    with pytest.raises(ConfigError, match="secret") as caught:
        await other.load("EdDSA", access_ttl=TTL)
    assert kid in caught.value.detail
    with pytest.raises(ConfigError, match="secret"):
        await other.export(kid)


async def test_a_sealed_key_is_bound_to_its_kid(repo: KeyRepository, engine: AsyncEngine) -> None:
    first = (await repo.ensure("EdDSA", access_ttl=TTL)).current.kid
    second = (await repo.ensure("ES256", access_ttl=TTL)).current.kid
    column, kid = signing_keys.c.private_key, signing_keys.c.kid
    async with engine.begin() as conn:
        sealed = (await conn.execute(select(column).where(kid == first))).scalar()
        await conn.execute(update(signing_keys).where(kid == second).values(private_key=sealed))
    with pytest.raises(ConfigError):
        await repo.load("ES256", access_ttl=TTL)


async def test_the_secret_must_be_256_bits(engine: AsyncEngine) -> None:
    with pytest.raises(ConfigError):
        KeyRepository(engine, b"short")


async def test_list_shows_public_members_only(repo: KeyRepository, clock: list[float]) -> None:
    for alg in ALGS:
        await repo.ensure(alg, access_ttl=TTL)
    clock[0] += 1
    await repo.rotate("EdDSA")
    listed = await repo.list()
    assert len(listed) == 4 and {key["alg"] for key in listed} == set(ALGS)
    for key in listed:
        assert not {"d", "k", "p", "q", "dp", "dq", "qi"} & set(key)
        assert {"kid", "alg", "created_at", "status"} <= set(key)
        assert key["created_at"] == "1970-01-12T13:46:40Z" or key["created_at"] == "1970-01-12T13:46:41Z"
    eddsa = [key for key in listed if key["alg"] == "EdDSA"]
    assert [key["status"] for key in eddsa] == ["current", "previous"]
    assert {"kty": "OKP", "crv": "Ed25519", "use": "sig"}.items() <= eddsa[0].items()
    es256 = next(key for key in listed if key["alg"] == "ES256")
    assert {"kty", "crv", "x", "y"} <= set(es256) and es256["crv"] == "P-256"


async def test_export_gives_a_usable_private_jwk(
    repo: KeyRepository, codec: AccessTokenCodec, clock: list[float], alg: Any
) -> None:
    ring = await repo.ensure(alg, access_ttl=TTL)
    private = await repo.export(ring.current.kid)
    assert private["kid"] == ring.current.kid and private["alg"] == alg
    if alg == "HS256":
        assert private["kty"] == "oct" and unb64(private["k"]) == ring.current.signing_key
        key: Any = unb64(private["k"])
    else:
        assert "d" in private
        key = jwt.PyJWK(private).key
    now = int(clock[0])
    claims = {
        "iss": ISSUER,
        "aud": "passgate",
        "sub": "u",
        "exp": now + 60,
        "iat": now,
        "jti": "j",
        "sid": "s",
    }
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": ring.current.kid, "typ": "at+jwt"})
    assert codec.verify(ring, token).sub == "u"


async def test_export_of_an_unknown_kid(repo: KeyRepository) -> None:
    await repo.ensure("EdDSA", access_ttl=TTL)
    for kid in ("nope", "../../etc/passwd", "' OR 1=1 --", ""):
        with pytest.raises(NotFound):
            await repo.export(kid)


async def test_private_material_never_prints(repo: KeyRepository, alg: Any) -> None:
    ring = await repo.ensure(alg, access_ttl=TTL)
    private = await repo.export(ring.current.kid)
    secret_member = private.get("d") or private["k"]
    material = unb64(secret_member)
    for text in (repr(ring), str(ring), repr(ring.current), str(ring.current), repr(repo), str(ring.jwks())):
        assert secret_member not in text and repr(material) not in text and repr(SECRET) not in text
    assert ring.current.kid in repr(ring.current)


# -- the deployment secret ------------------------------------------------------------------------


def test_load_secret_creates_a_private_file_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_secret(data_dir, None)
    path = data_dir / "secret.key"
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(data_dir, None) == first
    # --secret "$(cat secret.key)" on another machine gives the same key
    assert load_secret(tmp_path / "elsewhere", path.read_text().strip()) == first
    assert [p.name for p in data_dir.iterdir()] == ["secret.key"]


def test_load_secret_is_safe_when_processes_start_together(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = list(pool.map(lambda _: load_secret(tmp_path, None), range(16)))
    assert len(set(secrets)) == 1


def test_a_given_secret(tmp_path: Path) -> None:
    given = "a-long-random-deployment-secret-0123456789"
    assert load_secret(tmp_path, given) == derive_secret(given) != derive_secret(given + "x")
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(ConfigError):
        load_secret(tmp_path, "too short")


def test_a_damaged_secret_file(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("short\n")
    with pytest.raises(ConfigError, match="secret"):
        load_secret(tmp_path, None)
