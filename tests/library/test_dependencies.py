"""The declared dependencies: no floor admits a known vulnerability, and every one is bounded above.

pip-audit cannot reach its advisory services from the machines that build passgate, so the known
fixes are listed here: when a floor is raised for an advisory, add the fixed version to KNOWN_FIXED.
"""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.library.apps import ROOT

#: The first version without each advisory passgate's floors must stay above.
KNOWN_FIXED = {
    "starlette": "0.49.1",  # Range-header DoS in FileResponse (the board serves /static)
    "python-multipart": "0.0.31",  # the multipart parser's advisories up to 0.0.31
}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for name, reqs in project["optional-dependencies"].items() if name != "dev" for r in reqs]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def floor(requirement: Requirement) -> Version | None:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    return max(floors) if floors else None


@pytest.mark.parametrize("name", sorted(KNOWN_FIXED))
def test_no_floor_admits_a_known_vulnerability(name: str) -> None:
    (requirement,) = [r for r in declared() if r.name == name]
    lowest = floor(requirement)
    fixed = Version(KNOWN_FIXED[name])
    assert lowest is not None and lowest >= fixed, f"{requirement} admits {name} < {fixed}"


def test_every_dependency_has_a_floor_and_a_ceiling() -> None:
    for requirement in declared():
        assert floor(requirement) is not None, f"{requirement} has no floor"
        assert any(s.operator == "<" for s in requirement.specifier), f"{requirement} has no upper bound"


def test_the_installed_versions_are_allowed() -> None:
    from importlib.metadata import version

    for requirement in declared():
        if requirement.marker is None or requirement.marker.evaluate():
            assert requirement.specifier.contains(version(requirement.name), prereleases=True), requirement
