"""Refresh-token reuse detection holds for every token the login ever spent, not only the few its
record still holds; and a token this deployment never issued revokes nothing."""

from __future__ import annotations

import pytest

from passgate.credentials.opening import Client
from passgate.credentials.records import MAX_REFRESH_ENTRIES
from passgate.credentials.refresh import RotationPolicy
from passgate.credentials.secrets import Signer
from passgate.errors import RefreshReused, TokenInvalid
from tests.credentials.conftest import World

RACE_WINDOW = RotationPolicy().race_window

USER = "u" * 22


async def chain(world: World, rotations: int) -> list[str]:
    """The refresh tokens of one login, oldest first: each spent to get the next."""
    tokens = [(await world.tokens.open(USER, "alice", Client())).refresh_token]
    for _ in range(rotations):
        world.advance(60)
        tokens.append((await world.tokens.refresh(tokens[-1])).refresh_token)
    return tokens


async def alive(world: World, token: str) -> bool:
    try:
        await world.tokens.refresh(token)
    except TokenInvalid:
        return False
    return True


@pytest.mark.parametrize("back", [1, MAX_REFRESH_ENTRIES - 1, MAX_REFRESH_ENTRIES, 3 * MAX_REFRESH_ENTRIES])
async def test_a_token_spent_long_ago_still_revokes_the_login(world: World, back: int) -> None:
    tokens = await chain(world, 3 * MAX_REFRESH_ENTRIES)
    world.advance(RACE_WINDOW + 1)
    with pytest.raises(RefreshReused):
        await world.tokens.refresh(tokens[-1 - back])
    assert not await alive(world, tokens[-1])


@pytest.mark.parametrize("forge", [
    lambda t: t.rsplit(".", 1)[0],                                   # the tag cut off
    lambda t: t[: t.rindex(".") + 1] + "A" * 24,                     # another tag
    lambda t: t.split(".")[0] + "." + t.split(".")[1] + "." + "B" * 43 + "." + t.split(".")[3],  # another secret
])
async def test_a_token_not_issued_here_revokes_nothing(world: World, forge: object) -> None:
    tokens = await chain(world, 2 * MAX_REFRESH_ENTRIES)
    world.advance(RACE_WINDOW + 1)
    with pytest.raises(TokenInvalid) as refused:
        await world.tokens.refresh(forge(tokens[0]))  # type: ignore[operator]
    assert not isinstance(refused.value, RefreshReused)
    assert await alive(world, tokens[-1])


async def test_a_client_racing_itself_is_not_taken_for_a_thief(world: World) -> None:
    # Within the race window, replays of one token each get a pair while the record holds it;
    # past that they are refused, but nothing is revoked, and the client's last pair lives on.
    tokens = await chain(world, 1)
    last = tokens[-1]
    outcomes = []
    for _ in range(2 * MAX_REFRESH_ENTRIES):
        try:
            last = (await world.tokens.refresh(tokens[0])).refresh_token
            outcomes.append("pair")
        except TokenInvalid as refused:  # a RefreshReused (a revocation) escapes and fails the test
            outcomes.append(refused.code)
    served = outcomes.count("pair")
    assert 0 < served < len(outcomes)
    assert outcomes == ["pair"] * served + ["token_invalid"] * (len(outcomes) - served)
    world.advance(RACE_WINDOW + 1)
    assert await alive(world, last)


async def test_a_replay_within_the_window_of_the_last_rotation_revokes_nothing(world: World) -> None:
    tokens = await chain(world, 3 * MAX_REFRESH_ENTRIES)
    world.advance(RACE_WINDOW / 2)
    with pytest.raises(TokenInvalid) as refused:
        await world.tokens.refresh(tokens[0])
    assert not isinstance(refused.value, RefreshReused)
    assert await alive(world, tokens[-1])


async def test_an_untagged_token_from_before_tags_still_refreshes(world: World) -> None:
    tagged = (await world.tokens.open(USER, "alice", Client())).refresh_token
    untagged = tagged.rsplit(".", 1)[0]  # what passgate 0.1.0 issued: USER.LOGIN.SECRET
    assert await alive(world, untagged)


@pytest.mark.parametrize("signature", ["", "é" * 24, "\ud800" * 24, "A" * 24])
def test_a_signature_that_is_not_ours_is_refused_not_raised(signature: str) -> None:
    # Tags and form tokens come from clients: any text at all is a wrong signature, never an error.
    signer = Signer(b"s" * 32, "refresh")
    assert not signer.check("USER.LOGIN.SECRET", signature)
    assert signer.check("USER.LOGIN.SECRET", signer.sign("USER.LOGIN.SECRET"))


async def test_every_invalid_refresh_token_is_refused_alike(world: World) -> None:
    # Malformed, a guess at a login's secret, a spent one that is not ours, one of a revoked login:
    # one answer (the reason is for the log), and never refresh_reused for a token not issued here.
    tokens = await chain(world, 1)
    user_id, login_id, _, tag = tokens[0].split(".")
    revoked = await chain(world, 0)
    await world.logins.revoke(USER, [revoked[0].split(".")[1]])
    hostile = ["", "nonsense", "a.b.c.d.e", "x" * 5000, f"{user_id}.{login_id}.{'A' * 43}",
               f"{user_id}.{login_id}.{'A' * 43}.{tag}", f"{user_id}.{'B' * 22}.{'A' * 43}", revoked[0]]
    details, reasons = set(), set()
    for token in hostile:
        with pytest.raises(TokenInvalid) as caught:
            await world.tokens.refresh(token)
        assert not isinstance(caught.value, RefreshReused)
        details.add(caught.value.detail)
        reasons.add(caught.value.reason)
    assert details == {TokenInvalid().detail}
    assert len(reasons) >= 3
