"""The curated public API, its version, the changelog and the docs that describe it."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.version import Version

import passgate
from tests.library.apps import EXAMPLES, ROOT

DOCS = ROOT / "docs"


def test_all_is_sorted_and_importable() -> None:
    assert passgate.__all__ == sorted(passgate.__all__)
    for name in passgate.__all__:
        assert hasattr(passgate, name), name


def test_every_public_name_is_documented() -> None:
    for name in passgate.__all__:
        if name != "__version__":
            assert inspect.getdoc(getattr(passgate, name)), f"passgate.{name} has no docstring"
    for obj in (passgate.Passgate, passgate.PassgateMiddleware, passgate.requires_user, passgate.username_key,
                passgate.UserRepository, passgate.Caller, passgate.Settings, passgate.load_settings):
        assert obj.__doc__, f"{obj.__name__} has no docstring of its own"
    for name in ("asgi_app", "install", "lifespan", "current_user", "optional_user", "caller", "app"):
        assert getattr(passgate.Passgate, name).__doc__, f"Passgate.{name} has no docstring"


def test_the_version_is_one_everywhere() -> None:
    version = passgate.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    printed = subprocess.run([sys.executable, "-m", "passgate.cli", "--version"], capture_output=True, text=True,
                             check=True, timeout=60)
    assert printed.stdout.strip() == f"passgate {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(version)}\]?", changelog, re.M), "CHANGELOG.md has no entry for it"


def code_after_docstring(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        source = "\n".join(source.splitlines()[body[0].end_lineno:]).lstrip("\n") + "\n"
    return source


PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_embedding_guide_shows_the_examples_as_they_are() -> None:
    guide = (DOCS / "embedding.md").read_text(encoding="utf-8")
    blocks = PYTHON_BLOCK.findall(guide)
    assert blocks[0] == code_after_docstring(EXAMPLES / "fastapi_app.py")
    assert blocks[1] == code_after_docstring(EXAMPLES / "starlette_app.py")
    own_users_section = guide.split("## Your own users", 1)[1].split("\n## ", 1)[0]
    own_users = code_after_docstring(EXAMPLES / "own_users.py")
    assert PYTHON_BLOCK.findall(own_users_section)
    for block in PYTHON_BLOCK.findall(own_users_section):
        assert block in own_users


@pytest.mark.skipif(Version(version("pydantic")) < Version("2.12"),
                    reason="pdoc renders pydantic's own members, which warn before pydantic 2.12: the docs are built "
                           "with the development environment, whatever the lowest pydantic a user may run")
def test_the_docs_build_without_warnings(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, str(DOCS / "build.py"), str(tmp_path)], capture_output=True, text=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    for page in ("index", "passgate", "passgate/web/starlette", "embedding", "cluster", "security"):
        assert (tmp_path / f"{page}.html").is_file(), page
    reference = (tmp_path / "passgate.html").read_text(encoding="utf-8")
    assert "PassgateMiddleware" in reference and "asgi_app" in reference
    assert "<h1" in (tmp_path / "security.html").read_text(encoding="utf-8")



def test_the_board_imports_only_public_names() -> None:
    # import-linter (make layers) keeps the board off passgate's modules; this keeps it to __all__.
    board = Path(passgate.__file__).parent / "board"
    for path in board.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "passgate":
                assert node.module == "passgate" or node.module.startswith("passgate.board"), path.name
                if node.module == "passgate":
                    names = {alias.name for alias in node.names}
                    assert names <= set(passgate.__all__), f"{path.name}: {names - set(passgate.__all__)}"
