# The two commands: `make run` and `make test`. Everything they need is installed here.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The suite runs its tests in two processes (each test has its own databases and ports).
TEST_WORKERS ?= 2

.PHONY: install run test check lint typecheck audit chaos browser-deps services clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(STAMP)

# First start: with the default SQLite file absent, load the demo community first.
run: install
	@if [ -z "$$WERKPLAATS_DATABASE_URL" ] && [ ! -f werkplaats.db ]; then $(BIN)/werkplaats demo; fi
	$(BIN)/werkplaats serve --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests, and axe-core (tests only, never committed).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -f tests/browser/.node/node_modules/axe-core/axe.min.js || \
	  npm install --silent --no-audit --no-fund --prefix tests/browser/.node axe-core@4 >/dev/null

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Known vulnerabilities in the installed packages (pip-audit). Says plainly when the
# vulnerability service cannot be reached and then does not fail (offline runs).
audit: install
	$(BIN)/python -m tests.security.audit

check: lint typecheck audit

# The chaos suite (bench/chaos.py): 3 servers on a fresh PostgreSQL database and a private
# Redis, 50 clients, >= 20 faults incl. a restart of the local PostgreSQL cluster (so never
# where others use it). `make test` runs the short form (tests/chaos, no PostgreSQL restart).
chaos: install
	$(BIN)/python -m bench.chaos --json /tmp/werkplaats-chaos.json

test: install browser-deps check
	$(BIN)/pytest -n $(TEST_WORKERS)

# PostgreSQL and Redis for the tests, started when they are not running (CI does this too).
services:
	@bash .ci/services

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Real-time benchmarks beside the peers (bench/run.py): quick by default, `make bench FULL=1`
# for the full sizes. Peers go into their own venv (bench/.venv-peers), the Node load
# generator's packages into bench/loadgen/node_modules; the tables land in docs/performance.md.
FULL ?=
bench: install
	@test -x bench/.venv-peers/bin/python || $(PYTHON) -m venv bench/.venv-peers
	@bench/.venv-peers/bin/pip install -q -r bench/peers/requirements.txt
	@test -d bench/loadgen/node_modules/ws || npm ci --silent --no-audit --no-fund --prefix bench/loadgen
	FULL=$(FULL) $(BIN)/python -m bench.run $(BENCH_ARGS)
