# ArbiBase Chat: `make run` starts the app, `make test` runs the tests.
#
#   make run  [PORT=3000] [HOST=0.0.0.0]   set up, migrate + seed, serve on one port (prod build)
#   make test [PYTEST_ARGS="-k smoke -x"] [PYTEST_WORKERS=0]  set up (with dev tools), run pytest
#   make lint                              ruff check, ruff format --check, mypy
#   make bench [BENCH_ARGS=...]            quick query bench (full runs: see bench/README.md)
#   make setup / make setup-dev            only the environment (venv, pip, bun)
#   make clean                             remove build output (.web, .web-e2e, .states, caches)
#
# Works offline except for the package registries (PyPI, npm) on the first run.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PORT ?= 3000
HOST ?= 0.0.0.0
PYTHON ?= python3
PYTEST_ARGS ?=
# Test worker processes (pytest-xdist; 0 = one process). Most of the suite waits on servers,
# browsers and sockets, so two processes on two cores finish it in about two thirds the time.
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=
# Prepares the database before the server starts (JWT secret, alembic upgrade head, demo seed).
APP_SETUP ?= $(PY) -m arbibase_chat.cli setup

VENV := .venv
PY := $(VENV)/bin/python
BUN_MIN := 1.4.4
BUN_VERSION := 1.4.5
TOOLS_BIN := $(CURDIR)/.tools/node_modules/.bin

# A local bun (installed under .tools when a global npm install is not allowed) is found first.
export PATH := $(CURDIR)/$(VENV)/bin:$(TOOLS_BIN):$(PATH)
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := 0
# Use the bun we checked above, never a Reflex-downloaded one (its installer needs the internet).
export REFLEX_USE_SYSTEM_BUN := 1
# Tells Reflex which registry to use, so it skips its registry latency probe.
ifeq ($(origin NPM_CONFIG_REGISTRY),undefined)
NPM_CONFIG_REGISTRY := $(shell npm config get registry 2>/dev/null)
endif
ifneq ($(strip $(NPM_CONFIG_REGISTRY)),)
export NPM_CONFIG_REGISTRY
endif

.PHONY: help run test lint bench setup setup-dev venv deps deps-dev bun clean

help:
	@sed -n '2,9p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

# --- environment ---------------------------------------------------------------------------

venv:
	@if [ ! -x "$(PY)" ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=...)")'; \
	  echo ">> creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi

# pip runs only when the requirement files changed since the last successful install (the
# stamp holds their checksum and lives inside the venv, so a new venv reinstalls).
deps: venv
	@sum=$$(cat requirements.txt | sha256sum | cut -d' ' -f1); \
	if [ "$$(cat $(VENV)/.stamp-runtime 2>/dev/null)" != "$$sum" ]; then \
	  echo ">> pip install -r requirements.txt"; \
	  $(PY) -m pip install --disable-pip-version-check -q -r requirements.txt; \
	  echo "$$sum" > $(VENV)/.stamp-runtime; \
	fi

deps-dev: deps
	@sum=$$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1); \
	if [ "$$(cat $(VENV)/.stamp-dev 2>/dev/null)" != "$$sum" ]; then \
	  echo ">> pip install -r requirements-dev.txt"; \
	  $(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt; \
	  echo "$$sum" > $(VENV)/.stamp-dev; \
	fi

# Reflex builds the frontend with bun >= $(BUN_MIN). Its own installer downloads from outside
# the package registries, so bun comes from npm: globally if allowed, else under .tools/.
bun:
	@bun_ok() { v=$$(bun --version 2>/dev/null) || return 1; \
	  [ "$$(printf '%s\n%s\n' "$(BUN_MIN)" "$$v" | sort -V | head -n1)" = "$(BUN_MIN)" ]; }; \
	if ! bun_ok; then \
	  command -v npm >/dev/null || { echo "npm is needed to install bun" >&2; exit 1; }; \
	  echo ">> installing bun@$(BUN_VERSION) from npm"; \
	  npm install -g --no-fund --no-audit "bun@$(BUN_VERSION)" >/dev/null 2>&1 || true; \
	  hash -r; \
	  if ! bun_ok; then \
	    echo ">> global npm install not usable: installing bun under .tools/"; \
	    npm install --no-fund --no-audit --prefix .tools "bun@$(BUN_VERSION)" >/dev/null; \
	    hash -r; \
	  fi; \
	  bun_ok || { echo "bun >= $(BUN_MIN) still not usable (found: $$(command -v bun || echo none))" >&2; exit 1; }; \
	fi

setup: deps bun
setup-dev: deps-dev bun

# --- commands ------------------------------------------------------------------------------

run: setup
	$(APP_SETUP)
	exec $(VENV)/bin/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT) --backend-host $(HOST)

test: setup-dev
	@rc=0; $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: counted as a failure" >&2; fi; \
	exit $$rc

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup-dev
	$(PY) -m bench.queries --quick $(BENCH_ARGS)
	@echo "full runs: python -m bench.queries / bench.http / bench.realtime (see bench/README.md)"

clean:
	rm -rf .web .web-e2e .web-e2e-* .e2e-build.lock .states .mypy_cache .ruff_cache .pytest_cache test-artifacts
