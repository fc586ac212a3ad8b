"""The user repository on SQLite and on a real PostgreSQL, and the password hasher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from passgate.deployment import create_schema
from passgate.errors import UsernameTaken, ValidationFailed
from passgate.identity.models import ModelUserRepository, UserMixin
from passgate.identity.names import check_password, check_username, username_key, username_skeleton
from passgate.identity.passwords import HashPolicy, PasswordHasher
from passgate.identity.users import SqlUserRepository, UserRepository, schema
from passgate.root import open_engine

FAST = HashPolicy(time_cost=1, memory_kib=8192, parallelism=1)


class UserRepositoryContract:
    async def test_create_and_find(self, repo: UserRepository) -> None:
        user = await repo.create("Alice", "hash")
        assert (await repo.get(user.id)) == user
        assert (await repo.find("alice")) == user
        assert (await repo.find("ALICE")) == user

    async def test_unique_after_casefold(self, repo: UserRepository) -> None:
        await repo.create("strasse", "h")
        with pytest.raises(UsernameTaken):
            await repo.create("STRAßE", "h")

    async def test_set_password_hash(self, repo: UserRepository) -> None:
        user = await repo.create("bob", "old")
        await repo.set_password_hash(user.id, "new")
        found = await repo.get(user.id)
        assert found is not None and found.password_hash == "new"

    async def test_delete_frees_the_name(self, repo: UserRepository) -> None:
        user = await repo.create("carol", "h")
        assert await repo.delete(user.id) is True
        assert await repo.get(user.id) is None
        assert await repo.delete(user.id) is False
        again = await repo.create("Carol", "h")
        assert again.id != user.id

    async def test_ids_are_opaque(self, repo: UserRepository) -> None:
        one, two = await repo.create("dave", "h"), await repo.create("erin", "h")
        assert not one.id.isdigit() and len(one.id) >= 16 and one.id != two.id

    async def test_unknown(self, repo: UserRepository) -> None:
        assert await repo.find("nobody") is None
        assert await repo.get("nothing") is None

    @pytest.mark.parametrize(("first", "lookalike"), [
        ("scope", "\u0455\u0441\u043e\u0440\u0435"),  # all Cyrillic
        ("admin", "adm\u0131n"),  # a dotless i
        ("modern", "rnodern"),
        ("paypal", "paypa1"),  # a digit one
    ])
    async def test_a_name_that_looks_like_a_taken_one_is_taken(
        self, repo: UserRepository, first: str, lookalike: str
    ) -> None:
        await repo.create(first, "h")
        with pytest.raises(UsernameTaken):
            await repo.create(lookalike, "h")
        assert await repo.find(lookalike) is None

    async def test_a_deleted_name_frees_its_lookalikes(self, repo: UserRepository) -> None:
        user = await repo.create("scope", "h")
        await repo.delete(user.id)
        assert (await repo.create("\u0455\u0441\u043e\u0440\u0435", "h")).username == "\u0455\u0441\u043e\u0440\u0435"

async def test_names_kept_before_skeletons_are_compared_too(tmp_path: Path) -> None:
    """A database written before skeletons were kept: its names count once a new one comes."""
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/users.db")
    await create_schema(engine, schema)
    await SqlUserRepository(engine).create("scope", "h")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM username_skeletons"))
    repo = SqlUserRepository(engine)  # a node of the new version starts
    with pytest.raises(UsernameTaken):
        await repo.create("\u0455\u0441\u043e\u0440\u0435", "h")
    assert (await repo.create("another", "h")).username == "another"
    await engine.dispose()


class Base(DeclarativeBase):
    pass


class Member(UserMixin, Base):
    """An application's own user model, with a column of its own."""

    __tablename__ = "members"

    display_name: Mapped[str] = mapped_column(default="")


class TestModelUsers(UserRepositoryContract):
    @pytest.fixture
    async def repo(self, tmp_path: Path) -> AsyncIterator[ModelUserRepository[Member]]:
        engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/members.db")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield ModelUserRepository(engine, Member)
        await engine.dispose()

    async def test_extra_fields_go_to_the_models_own_columns(self, repo: ModelUserRepository[Member]) -> None:
        user = await repo.create("ada", "h", display_name="Ada Lovelace")
        row = await repo.row(user.id)
        assert row is not None and row.display_name == "Ada Lovelace"
        with pytest.raises(ValidationFailed):
            await repo.create("bob", "h", no_such_column="x")
        with pytest.raises(ValidationFailed):
            await repo.create("bob", "h", _sa_instance_state="x")


class TestSqliteUsers(UserRepositoryContract):
    @pytest.fixture
    async def repo(self, tmp_path: Path) -> AsyncIterator[SqlUserRepository]:
        engine = open_engine(f"sqlite+aiosqlite:///{tmp_path}/users.db")
        await create_schema(engine, schema)
        yield SqlUserRepository(engine)
        await engine.dispose()


@pytest.mark.postgres
class TestPostgresUsers(UserRepositoryContract):
    @pytest.fixture
    async def repo(self, postgres_url: str) -> AsyncIterator[SqlUserRepository]:
        engine = open_engine(postgres_url)
        await create_schema(engine, schema)
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE users, username_skeletons"))
        yield SqlUserRepository(engine)
        await engine.dispose()


def test_skeletons_follow_uts_39() -> None:
    assert username_skeleton("\u0455\u0441\u043e\u0440\u0435") == username_skeleton("scope")
    assert username_skeleton("adm\u0131n") == username_skeleton("admin") == username_skeleton("ADMIN")
    assert username_skeleton("rn") == username_skeleton("m")
    assert username_skeleton("alice") != username_skeleton("alicf")


def test_username_rules() -> None:
    assert check_username("ｆｕｌｌ") == "full"  # NFKC first
    assert username_key("Straße") == username_key("STRASSE")
    for bad in ("ab", "a b", "x\u200by", "abcЖ", "한글a"):
        with pytest.raises(ValidationFailed):
            check_username(bad)
    assert check_username("é̃tre") == "é̃tre"  # combining marks belong to their letter


@pytest.mark.parametrize("name", [
    "\U00010300\U000103a0\U00010301",  # Old Italic and Old Persian: both named "OLD ..."
    "\U00010600\U00010000\U00010601",  # Linear A and Linear B
    "\u1950\uaa80\u1951",              # Tai Le and Tai Viet
    "abcЖ", "한글a", "payp\u0430l",        # the last with a Cyrillic a
])
def test_letters_of_two_scripts_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed, match="one script"):
        check_username(name)


@pytest.mark.parametrize("name", [
    "佐々木1234",   # 々 is Han, though its name says IDEOGRAPHIC ITERATION MARK
    "カタカナー",    # ー is Common script, used by Katakana and Hiragana
    "ひらがなー",
    "Ελένη_1",
    "Ñandú-7",
])
def test_letters_of_one_script_are_accepted(name: str) -> None:
    assert check_username(name) == name


def test_a_name_only_a_newer_unicode_knows_is_judged_by_the_same_rules_on_every_python() -> None:
    # Kawi (Unicode 15.0) is unassigned in Python 3.11's own unicodedata (14.0): judged by that, these
    # letters would be refused as "not letters" on one node and accepted on another.
    kawi = "\U00011F04\U00011F05\U00011F06"
    assert check_username(kawi) == kawi
    with pytest.raises(ValidationFailed):
        check_username(kawi + "ab")  # Kawi and Latin: two scripts
    garay = "\U00010D50\U00010D51\U00010D52"  # Garay (Unicode 16.0) letters
    assert check_username(garay) == garay


@pytest.mark.parametrize("name", ["admin\u0661", "\u0661\u0662admin", "user\u0967\u0968", "Ελένη\u0661"])
def test_digits_of_another_script_than_the_letters_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed):
        check_username(name)


@pytest.mark.parametrize("name", [
    "admin1", "\u0645\u062d\u0645\u062f\u0661", "\u0930\u093e\u092e\u0967", "\u0661\u0662\u0663", "ab\uff11",
])
def test_digits_of_the_letters_script_or_ascii_are_accepted(name: str) -> None:
    assert check_username(name)


def test_password_rules() -> None:
    assert check_password(" spaces   ") == " spaces   "
    for bad in ("1234567", "x" * 1025, "abc\x00defgh"):
        with pytest.raises(ValidationFailed):
            check_password(bad)


async def test_hash_verify_and_unknown_user() -> None:
    hasher = PasswordHasher(FAST)
    stored = await hasher.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert (await hasher.verify(stored, "correct horse")).ok
    assert not (await hasher.verify(stored, "wrong")).ok
    assert not (await hasher.verify(None, "correct horse")).ok
    hasher.close()


async def test_rehash_when_parameters_change() -> None:
    old, new = PasswordHasher(FAST), PasswordHasher(HashPolicy(time_cost=2, memory_kib=8192, parallelism=1))
    stored = await old.hash("correct horse")
    verdict = await new.verify(stored, "correct horse")
    assert verdict.ok and verdict.new_hash is not None and "t=2" in verdict.new_hash
    assert (await new.verify(verdict.new_hash, "correct horse")).new_hash is None
    old.close()
    new.close()


async def test_hashing_runs_off_the_event_loop() -> None:
    hasher = PasswordHasher(HashPolicy(time_cost=2, memory_kib=32768, parallelism=1))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.gather(*(hasher.hash("correct horse") for _ in range(4)))
    task.cancel()
    hasher.close()
    assert ticks > 5  # the loop kept running while argon2 worked
