# The two commands a newcomer needs: `make serve` and `make test`.
# Each creates .venv with the project's own files and installs what it needs; nothing else.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: serve test pytest lint typecheck fmt clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## Install and start Tradewind on the embedded default (SQLite under ./tradewind-data, paper venue).
serve: $(VENV)/.installed
	$(BIN)/tradewind serve

## Install and run lint, type checks and the whole test suite (PostgreSQL too when
## TRADEWIND_TEST_POSTGRES_URL is set).
test: $(VENV)/.installed-dev lint typecheck pytest

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests $(wildcard bench scripts)
	$(BIN)/ruff format --check src tests $(wildcard bench scripts)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests $(wildcard bench scripts)
	$(BIN)/ruff check --fix src tests $(wildcard bench scripts)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
