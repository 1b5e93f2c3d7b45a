# `make run` and `make test` work on a fresh machine: each creates .venv when
# missing and installs planwise with its dev extras first.
# The first interpreter that actually runs and is 3.11 or 3.12 (durable-rules
# does not import on 3.13); pyenv shims may exist for versions that do not run.
# Failing those, python3 (3.13+ runs the reference evaluator instead).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' \
	2>/dev/null && { echo $$p; exit; }; done; echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/planwise

demo: setup
	$(BIN)/planwise demo

# One pytest worker per core (pytest-xdist); loadgroup keeps a module that shares a
# module-scoped fixture on one worker, so it is built once (tests/conftest.py).
test: setup
	sh scripts/install-browser
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/cli.py
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/tui.py
	$(BIN)/python benchmarks/documents.py
	$(BIN)/python benchmarks/progress.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
