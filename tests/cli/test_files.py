"""The data dir passgate makes is its own user's alone: the databases hold password hashes and login
records, the secret seals the signing keys (CWE-276)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path


def passgate(*args: str, stdin: str = "") -> None:
    env = {**os.environ, "PASSGATE_PASSWORD_TIME_COST": "1", "PASSGATE_PASSWORD_MEMORY_KIB": "8192",
           "PASSGATE_PASSWORD_PARALLELISM": "1"}
    subprocess.run([sys.executable, "-m", "passgate.cli", *args], input=stdin, text=True, check=True,
                   capture_output=True, timeout=120, env=env)


def test_a_new_data_dir_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "passgate-data"
    os.umask(0o022)  # the usual umask, under which mkdir and open give 0755 and 0644
    passgate("user", "create", "ada", "--data-dir", str(data), stdin="correct horse\n")
    passgate("sessions", "list", "ada", "--data-dir", str(data))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir() if p.is_file()}
    assert {"passgate.db", "state.db", "secret.key"} <= set(files)
    assert all(mode & 0o077 == 0 for mode in files.values()), files
