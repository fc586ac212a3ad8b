#!/usr/bin/env bash
# make matrix: the suite on the lowest versions passgate's floors allow, and on the highest its
# ceilings allow, each in a venv of its own (.venv-lowest, .venv-highest). Not part of make test
# (it installs two environments and runs the suite twice): run it before a release and when a
# dependency publishes a release under a ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
for which in lowest highest; do
    venv=".venv-$which"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    constraints=()
    if [ "$which" = lowest ]; then
        "$venv/bin/python" -m pip install -q packaging
        "$venv/bin/python" scripts/versions.py lowest > "$venv/constraints.txt"
        constraints=(-c "$venv/constraints.txt")
    fi
    "$venv/bin/python" -m pip install -q --upgrade "${constraints[@]}" -e '.[dev]'
    echo "== $which: $("$venv/bin/python" -m pip list --format freeze 2>/dev/null |
        grep -iE '^(fastapi|starlette|pydantic|pydantic-settings|sqlalchemy|redis|uvicorn|pyjwt|cryptography)==' | tr '\n' ' ')"
    "$venv/bin/pytest" -p no:cacheprovider "$@"
done
