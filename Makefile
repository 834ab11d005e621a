# CloudCX developer commands. Everything lives in ./.venv; nothing is installed globally.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install dev run test lint format bench clean lock lock-upgrade screenshots

install: $(VENV)/.installed ## create .venv with the platform installed

dev: $(VENV)/.installed-dev ## create .venv with the dev extras (tests, linters)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Both install the hashed locks (requirements/, `make lock`), as CI and production
# do, so that every machine runs the same versions; then the project itself.
$(VENV)/.installed: pyproject.toml requirements/runtime.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/runtime.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements/dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

run: install ## start the platform at http://127.0.0.1:8000 on SQLite (./var)
	$(BIN)/cloudcx serve --host $(HOST) --port $(PORT)

test: dev ## run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Needs Chromium (apt-get install chromium, or CLOUDCX_CHROMIUM=/path); fails without it.
screenshots: dev ## each main page at 1280 and 390 px into test-artifacts/screenshots/
	CLOUDCX_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/e2e/layout/screenshots.py -q -s -p no:cacheprovider

bench: dev ## benchmark against the peers (../shared/peers) and write bench/REPORT.md
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The locks pin every runtime and dev dependency with its hashes, for CPython 3.11
# on Linux x86_64: CI installs requirements/dev.txt and production requirements/runtime.txt
# (pip install --require-hashes -r ...). uv resolves for that target whatever this machine is.
UV_VERSION = 0.13.8
LOCK = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(VENV)/bin/python ## regenerate requirements/*.txt, keeping the pins that still fit
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(LOCK) pyproject.toml requirements/runtime.in -o requirements/runtime.txt
	$(LOCK) pyproject.toml requirements/runtime.in --extra dev -c requirements/runtime.txt \
		-o requirements/dev.txt

lock-upgrade: ## the same with the newest releases that fit pyproject.toml
	$(MAKE) lock LOCK_ARGS=--upgrade
