# The two commands of the README:
#   make demo   sets everything up and runs the shop (web, worker, beat, Stripe emulator)
#   make test   sets everything up and runs the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
# Python comes from the machine (3.11); uv never downloads an interpreter.
export UV_PYTHON_DOWNLOADS := never
PYTEST_ARGS ?=
# The suite runs in this many processes (pytest-xdist): one per core, at most 4.
# Each has its own test database and Redis keys; the browser tests stay together
# in one of them (see tests/README.md). TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))

.PHONY: demo test setup system-deps browser-deps migrate seed run bench lint clean

demo: setup migrate seed
	@echo "Starting the shop on http://127.0.0.1:8000 (admin: /admin/), Stripe emulator on http://127.0.0.1:12111"
	$(VENV)/bin/honcho start

test: setup browser-deps
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

setup: $(UV) system-deps
	$(UV) sync --frozen

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# WeasyPrint's libraries (pango) and fonts, if the machine lacks them.
system-deps:
	@scripts/system-deps.sh

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@scripts/system-deps.sh --browser

migrate:
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

seed:
	$(PY) manage.py seed_shop

run:
	$(VENV)/bin/honcho start

# Every benchmark, one after the other (see bench/run_all.py and the README).
bench: setup
	$(PY) bench/run_all.py

# Style and the architecture contracts (the layers in pyproject.toml).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf var/ .pytest_cache/
