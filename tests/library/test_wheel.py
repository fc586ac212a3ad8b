"""The wheel that ``python -m build`` makes, installed into a fresh venv outside the checkout, works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import passgate
from tests.library.apps import ROOT, AppProcess, check_hello, clean_env, readme_example

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=clean_env(), capture_output=True, text=True,
        timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_wheel_installs_and_serves_the_readme_example(tmp_path: Path) -> None:
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("passgate-*.whl")
    assert wheel.name.startswith(f"passgate-{passgate.__version__}-")
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)

    probe = "import json, passgate, pathlib; print(json.dumps([passgate.__file__, passgate.__version__]))"
    location, version = json.loads(run(venv / "bin" / "python", "-c", probe, cwd=work))
    package = Path(location).parent
    assert package.is_relative_to(venv), f"passgate imported from {package}, not from the fresh venv"
    assert (package / "py.typed").is_file()
    assert (package / "board" / "templates" / "base.html").is_file()
    assert version == passgate.__version__
    assert run(venv / "bin" / "passgate", "--version", cwd=work).strip() == f"passgate {passgate.__version__}"

    (work / "app.py").write_text(readme_example(), encoding="utf-8")
    # The installed package's own type information (py.typed) is what mypy reads for it.
    run(sys.executable, "-m", "mypy", "--strict", "--python-executable", venv / "bin" / "python",
        "--cache-dir", tmp_path / "mypy-cache", "app.py", cwd=work)
    with AppProcess("app:app", cwd=work, uvicorn=[str(venv / "bin" / "uvicorn")]) as app:
        check_hello(app.url)
