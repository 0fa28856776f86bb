# Everything runs from a project-local virtualenv; `make test` and `make demo` create it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint typecheck unit demo docs bench dist matrix constraints clean
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The dev tools (dependency group `dev`) and the build backend at the versions
# constraints.txt pins; pip itself first, as dependency groups need pip 25.1.
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -c constraints.txt pip
	$(PIP) -c constraints.txt --build-constraint constraints.txt -e . --group dev --config-settings editable_mode=compat
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e . --config-settings editable_mode=compat
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

## make dist: the sdist and wheel in dist/, checked (twine check --strict, no deprecation warning)
dist: $(VENV)/.installed-test
	rm -rf dist build
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m build --outdir dist . > .dist.log 2>&1 || { cat .dist.log; exit 1; }
	! grep -i -B2 -A2 deprecat .dist.log
	$(BIN)/twine check --strict dist/*.whl dist/*.tar.gz
	$(BIN)/python tests/pythons.py check-dist

## make matrix: the built wheel on every supported Python (docs/development.md)
matrix: dist
	$(BIN)/python tests/pythons.py matrix

## make constraints: re-pin the dev tools for every supported Python (constraints.txt)
constraints:
	$(PYTHON) tests/pythons.py constraints

clean:
	rm -rf $(VENV) .venv-minihai .venv-minihai.lock .bench .mypy_cache .ruff_cache .pytest_cache .coverage-data *.egg-info dist build .matrix .dist.log
