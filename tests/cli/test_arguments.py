"""What an administrator types reaches the command intact, even where it starts with '-'."""

from __future__ import annotations

import pytest

from passgate.cli import parser
from passgate.ids import new_id


@pytest.mark.parametrize("nbytes", [6, 16])
def test_ids_never_look_like_options(nbytes: int) -> None:
    # base64url has '-' among its 64 letters: one id in 64 would read as an option to the CLI.
    drawn = [new_id(nbytes) for _ in range(3000)]
    assert not [value for value in drawn if value.startswith("-")]
    assert len(set(drawn)) == len(drawn)


def test_an_id_that_starts_with_a_dash_goes_after_double_dash() -> None:
    args = parser().parse_args(["sessions", "revoke", "alice", "--", "-o3u4klspeoJ56xT3SGchQ"])
    assert (args.name, args.session_id, args.all) == ("alice", "-o3u4klspeoJ56xT3SGchQ", False)


def test_a_name_that_starts_with_a_dash_goes_after_double_dash() -> None:
    assert parser().parse_args(["user", "create", "--", "-bob"]).name == "-bob"
    assert parser().parse_args(["keys", "export", "--", "-kid"]).kid == "-kid"


def test_the_help_says_how_to_pass_a_leading_dash(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["sessions", "revoke", "--help"])
    assert "'--'" in capsys.readouterr().out
