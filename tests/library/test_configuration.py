"""The configuration reference is generated from Settings, and the CLI says what each option does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from passgate.config import Settings, reference_markdown
from tests.library.apps import ROOT


def test_the_reference_in_docs_is_current() -> None:
    # Regenerate it with `make docs` (docs/build.py writes it) when a setting changes.
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == reference_markdown()


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no docstring"


def test_serve_help_shows_each_default_and_variable() -> None:
    shown = subprocess.run([sys.executable, "-m", "passgate.cli", "serve", "--help"], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    flat = " ".join(shown.split())
    assert "[default: 30m] (env PASSGATE_SESSION_IDLE)" in flat
    assert "[default: 10/5m] (env PASSGATE_LOGIN_LIMIT)" in flat


def test_the_secret_is_never_an_argument_but_may_be_a_file(tmp_path: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "passgate.cli", "keys", "list", "--data-dir", str(tmp_path),
                              "--secret", "x" * 40], capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "--secret" in refused.stderr
    secret = tmp_path / "secret"
    secret.write_text("a-long-random-deployment-secret-0123456789\n", encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "passgate.cli", "keys", "list", "--data-dir", str(tmp_path / "d"),
                             "--secret-file", str(secret)], capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert not (tmp_path / "d" / "secret.key").exists()  # the file's secret was used, none was made
