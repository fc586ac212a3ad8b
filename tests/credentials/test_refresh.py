"""Refresh-token reuse detection holds for every token the login ever spent, not only the few its
record still holds; and a token this deployment never issued revokes nothing."""

from __future__ import annotations

import asyncio
import base64

import pytest

from passgate.credentials.logins import login_key
from passgate.credentials.opening import Client, LoginOpener
from passgate.credentials.records import MAX_REFRESH_ENTRIES
from passgate.credentials.refresh import RotationPolicy, TokenLogins, TokenPair
from passgate.credentials.secrets import Signer
from passgate.errors import RefreshReused, TokenInvalid
from tests.credentials.conftest import POLICY, World

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


def same_pair(a: TokenPair, b: TokenPair) -> bool:
    return (a.access_token, a.refresh_token) == (b.access_token, b.refresh_token)


async def test_a_client_racing_itself_is_not_taken_for_a_thief(world: World) -> None:
    # Within the race window every replay of one token gets the very pair its first use got: no
    # second chain, nothing revoked; past the window the client's one pair lives on.
    spent = (await world.tokens.open(USER, "alice", Client())).refresh_token
    first = await world.tokens.refresh(spent)
    step = RACE_WINDOW / (4 * MAX_REFRESH_ENTRIES)
    for n in range(1, 2 * MAX_REFRESH_ENTRIES + 1):
        world.advance(step)
        again = await world.tokens.refresh(spent)  # a RefreshReused (a revocation) fails the test
        assert same_pair(again, first)
        assert abs(again.expires_in - (first.expires_in - n * step)) <= 1  # the same token, older
    world.advance(RACE_WINDOW + 1)
    assert await alive(world, first.refresh_token)


@pytest.mark.parametrize("nodes", [1, 2])
async def test_concurrent_refreshes_of_one_token_leave_one_chain(world: World, nodes: int) -> None:
    spent = (await world.tokens.open(USER, "alice", Client())).refresh_token
    others = [world, world.other_node()][:nodes]
    answers = await asyncio.gather(*(others[i % nodes].tokens.refresh(spent) for i in range(8)))
    assert all(same_pair(answer, answers[0]) for answer in answers)
    assert len({world.signing.codec.verify(world.signing.ring, a.access_token).jti for a in answers}) == 1
    (login,) = await world.logins.list(USER)
    assert sum(1 for entry in login.refresh if not entry.spent_at) == 1  # one live refresh token
    successor = await world.tokens.refresh(answers[0].refresh_token)
    world.advance(RACE_WINDOW + 1)
    assert await alive(world, successor.refresh_token)


async def test_a_replay_of_an_older_token_in_the_window_walks_the_one_chain(world: World) -> None:
    # t0 -> t1 -> t2 within the window: t0 replayed gets t1 again, t1 replayed gets t2 again.
    t0 = (await world.tokens.open(USER, "alice", Client())).refresh_token
    p1 = await world.tokens.refresh(t0)
    p2 = await world.tokens.refresh(p1.refresh_token)
    world.advance(RACE_WINDOW / 2)
    assert same_pair(await world.tokens.refresh(t0), p1)
    assert same_pair(await world.tokens.refresh(p1.refresh_token), p2)
    world.advance(RACE_WINDOW)
    with pytest.raises(RefreshReused):
        await world.tokens.refresh(t0)
    assert not await alive(world, p2.refresh_token)


async def test_the_kept_answer_is_sealed_and_forgotten_after_the_window(world: World) -> None:
    spent = (await world.tokens.open(USER, "alice", Client())).refresh_token
    first = await world.tokens.refresh(spent)
    user_id, login_id = spent.split(".")[:2]
    raw = await world.store.get(login_key(user_id, login_id))
    assert raw is not None
    successor_secret = first.refresh_token.split(".")[2]
    for part in (first.access_token.encode(), *(p.encode() for p in first.access_token.split(".")),
                 successor_secret.encode(), base64.urlsafe_b64decode(successor_secret + "=")):
        assert part not in raw
    # Another deployment (another secret) over the same records cannot open it, and revokes nothing.
    stranger = TokenLogins(world.logins, LoginOpener(world.logins, POLICY, clock=world.now), world.signing,
                           secret=b"t" * 32, clock=world.now)
    with pytest.raises(TokenInvalid) as refused:
        await stranger.refresh(spent)
    assert not isinstance(refused.value, RefreshReused)
    # The next rotation past the window drops the kept answer.
    world.advance(RACE_WINDOW + 1)
    await world.tokens.refresh(first.refresh_token)
    (login,) = await world.logins.list(USER)
    assert [bool(e.answer) for e in login.refresh] == [False, True, False]


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
