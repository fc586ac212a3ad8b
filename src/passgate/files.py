"""Files that hold secrets or password hashes: readable by the deployment's own user alone (CWE-276)."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> None:
    """Make ``path`` (and its missing parents) as a directory only its owner may enter."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Make sure ``path`` exists, in a private directory, readable by its owner alone.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so a database made
    here keeps its journal private too.
    """
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
    os.close(fd)
