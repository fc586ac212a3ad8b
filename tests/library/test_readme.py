"""The README's first Python block, saved as ``app.py`` and run with ``uvicorn app:app``, keeps its promises."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.library.apps import AppProcess, check_hello, readme_example


def test_the_readme_example_serves_hello(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(readme_example(), encoding="utf-8")
    with AppProcess("app:app", cwd=tmp_path) as app:
        check_hello(app.url)


def test_the_readme_example_is_short_and_complete() -> None:
    source = readme_example()
    tree = ast.parse(source)  # a complete module, not a fragment
    assert any(isinstance(node, ast.ImportFrom) and node.module == "passgate" for node in tree.body)
    code_lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(code_lines) <= 15, code_lines
