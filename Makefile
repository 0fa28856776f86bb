# Everything runs from a project-local virtualenv; `make test` and `make demo` create it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint typecheck unit demo docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . --config-settings editable_mode=compat
	touch $@

## make test: ruff, mypy --strict and the whole pytest suite
test: lint typecheck unit

lint: $(VENV)/.installed-test
	$(BIN)/ruff check valohai_cli_lite tests
	$(BIN)/ruff format --check valohai_cli_lite tests

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# pytest under coverage, subprocesses included; prints the coverage of valohai_cli_lite.
unit: $(VENV)/.installed-test
	rm -rf .coverage-data
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

## make demo: start the bundled emulator, log in to it, list projects, clean up
demo: $(VENV)/.installed
	$(BIN)/python -m valohai_cli_lite.emulator.demo

## make bench: vh-lite against the official client, side by side; updates docs/performance.md
bench: $(VENV)/.installed
	$(BIN)/python tests/benchmarks/bench.py --write-docs

## make docs: regenerate the command reference from the CLI itself
docs: $(VENV)/.installed
	$(BIN)/python tests/reference.py > docs/commands.md

clean:
	rm -rf $(VENV) .venv-minihai .venv-minihai.lock .bench .mypy_cache .ruff_cache .pytest_cache .coverage-data *.egg-info
