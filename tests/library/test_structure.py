"""The shape the code keeps: small functions, and the layers that `make layers` checks."""

from __future__ import annotations

import ast
from pathlib import Path

import passgate

PACKAGE = Path(passgate.__file__).parent
MAX_FUNCTION_LINES = 50


def test_no_function_is_over_fifty_lines() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({size} lines)")
    assert not long, long


def test_the_layers_are_declared_for_every_part() -> None:
    import tomllib

    config = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    declared = {name.strip() for layer in layers for name in layer.split("|")}
    parts = {f"passgate.{p.stem}" for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert parts == declared
