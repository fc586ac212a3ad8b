"""Pin every runtime dependency of passgate to the lowest version its bounds allow.

    python scripts/versions.py lowest > constraints.txt

``make matrix`` installs passgate under these pins (and, in a second venv, under none: the highest
versions the upper bounds allow) and runs the suite in both, so that a floor that no longer works,
or a new release under a ceiling that breaks, is found before a user finds it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("server", "board", "redis", "postgres")


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for name in EXTRAS for r in project["optional-dependencies"][name]]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def lowest() -> list[str]:
    pins = []
    for requirement in requirements():
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        marker = f"; {requirement.marker}" if requirement.marker else ""
        pins += [f"{requirement.name}=={max(floors, key=_key)}{marker}"] if floors else []
    return pins


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


if __name__ == "__main__":
    if sys.argv[1:] != ["lowest"]:
        sys.exit("usage: versions.py lowest")
    print("\n".join(lowest()))
