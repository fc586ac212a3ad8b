# passgate: `make run` serves the community board, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck layers servers clean bench matrix

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The server installs the drivers of every backend it can be pointed at.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[server,board,redis,postgres]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/passgate serve --smtp-url "$${PASSGATE_SMTP_URL:-log://}"  # log://: mail goes to the log (development)

servers:
	bash scripts/ensure-servers.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

layers: $(VENV)/.dev-installed
	$(BIN)/lint-imports

test: $(VENV)/.dev-installed servers lint typecheck layers
	$(BIN)/pytest

.PHONY: docs
docs: $(VENV)/.dev-installed
	$(BIN)/python docs/build.py

# The suite on the lowest and the highest versions the dependency bounds allow (scripts/matrix.sh).
matrix: servers
	bash scripts/matrix.sh

bench: $(VENV)/.installed servers
	$(BIN)/python -m pip install -q --disable-pip-version-check 'matplotlib>=3.8' 'httpx>=0.27'
	$(BIN)/python -m benchmarks.lab

clean:
	rm -rf $(VENV) .venv-lowest .venv-highest dist build .pytest_cache .mypy_cache .ruff_cache
