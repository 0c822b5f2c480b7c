# The two commands: `make run` and `make test`. Everything they need is installed here.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
# What serving needs (`make run`), and that plus the test tools (`make install`, `make test`).
RUN_STAMP = $(VENV)/.installed-run
STAMP     = $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The suite runs its tests in two processes (each test has its own databases and ports).
TEST_WORKERS ?= 2

.PHONY: install bytecode run test soak soak-tests check lint typecheck audit chaos chaos-net browser-deps services clean bench bench-public bench-uploads bench-client lock lock-check

# Installs come from uv.lock (exact versions, hashes checked), never from whatever was
# released today; `make lock` is the one deliberate way to move them.
UV_VERSION = 0.13.9
UV = UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv

# --inexact: a `make run` after `make test` leaves the test tools where they are.
$(RUN_STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q uv==$(UV_VERSION); }
	$(UV) sync --frozen --inexact --quiet
	touch $@

$(STAMP): $(RUN_STAMP)
	$(UV) sync --frozen --extra test --quiet
	touch $@

install: $(STAMP)

# First start: only the serving packages; with the default SQLite file absent, load the
# demo community first. HOST and PORT choose the address (make run PORT=8080).
run: $(RUN_STAMP)
	@test -f /usr/share/hunspell/nl.dic || echo "without Debian's hunspell-nl search does not split compounds (apt-get install hunspell-nl, then werkplaats reindex)"
	@if [ -z "$$WERKPLAATS_DATABASE_URL" ] && [ ! -f werkplaats.db ]; then $(BIN)/werkplaats demo; fi
	$(BIN)/werkplaats serve --demo --host $(HOST) --port $(PORT)

# Debian's chromium, nginx and clamd (clamav-daemon) for the tests, and axe-core and
# HTML_CodeSniffer from tests/browser/package-lock.json; hunspell-nl, the Dutch word list
# that search splits compounds with (docs/search.md).
SYSTEM_PACKAGES = chromium nginx-light clamav-daemon hunspell-nl
browser-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian's$$missing for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@test tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json || \
	  npm ci --silent --no-audit --no-fund --prefix tests/browser >/dev/null
	@bash .ci/services.d/oidc.sh

# The lock agrees with pyproject.toml and package.json (fails, naming the file, when not).
lock-check: install
	@$(UV) lock --check --quiet || { echo "uv.lock does not match pyproject.toml: run make lock" >&2; exit 1; }
	@cd tests/browser && npm ci --dry-run --silent --no-audit --no-fund >/dev/null 2>&1 || \
	  { echo "tests/browser/package-lock.json does not match package.json: run make lock" >&2; exit 1; }

# The one deliberate upgrade: newest versions within pyproject.toml's ranges, then
# `make test` and `make bench` before committing the new locks.
lock: install
	$(UV) lock --upgrade
	cd tests/browser && npm install --package-lock-only --no-audit --no-fund
	cd bench/loadgen && npm install --package-lock-only --no-audit --no-fund
	cd tests/oidc/provider && npm install --package-lock-only --no-audit --no-fund

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Known vulnerabilities in the installed packages (pip-audit). Says plainly when the
# vulnerability service cannot be reached and then does not fail (offline runs).
audit: install
	$(BIN)/python -m tests.security.audit

check: lock-check lint typecheck audit

# The chaos suite (bench/chaos.py): 3 servers on a fresh PostgreSQL database and a private
# Redis, 50 clients, >= 20 faults incl. a restart of the local PostgreSQL cluster (so never
# where others use it). `make test` runs the short form (tests/chaos, no PostgreSQL restart).
chaos: install
	$(BIN)/python -m bench.chaos --json /tmp/werkplaats-chaos.json

# Faults between machines (tests/net, docs/reliability.md): hosts in network namespaces
# (needs root), black-holes of 30 s, a minute of latency, a host cut off, at full length.
# `make test` runs the same faults scaled to seconds.
chaos-net: install browser-deps
	$(BIN)/pytest -n 0 -s -m soak tests/net

# Bytecode first: the suite starts a few hundred Python processes (servers, CLI runs), and
# where PYTHONDONTWRITEBYTECODE is set each would compile every module it imports again.
# compileall writes only what is out of date (a second run takes a second).
PYC_DIRS = chat rooms persistence web tests bench
bytecode: install
	$(BIN)/python -m compileall -q -j 0 -x /node_modules/ \
	  "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" $(PYC_DIRS)

# The slowest steps are listed at the end: where the suite's time goes, run after run.
test: install browser-deps check bytecode
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=30

# A working day compressed into DURATION on the topology of tests/net (needs root): 300
# users, logins, a meeting's burst, searches, uploads, reconnects; resources sampled and
# checked flat after the warm-up (bench/soak.py, docs/reliability.md "Soak").
DURATION ?= 30m
soak: install browser-deps bytecode
	$(BIN)/python -m bench.soak --duration $(DURATION)

# The long forms (storms, fuzzing at length, long flows) that `make test` leaves out,
# tests/net's among them (those alone: `make chaos-net`).
soak-tests: install browser-deps bytecode
	$(BIN)/pytest -n $(TEST_WORKERS) -m soak

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
	$(BIN)/python bench/public_bench.py

# The public pages alone (/openbaar with 1,000 publications, p50/p95 per page; target p95
# under 50 ms); writes "## Public pages" of docs/performance.md.
bench-public: install
	$(BIN)/python bench/public_bench.py

# Uploads beside live chat (bench/upload_bench.py, docs/performance.md): W2 alone and
# while 20 uploads of 10 MiB run at a time; W2's p99 within 2×, the server's memory bounded.
bench-uploads: install
	@test -d bench/loadgen/node_modules/ws || npm ci --silent --no-audit --no-fund --prefix bench/loadgen
	@bash .ci/services.d/clamd.sh >/dev/null 2>&1 || true
	$(BIN)/python -m bench.upload_bench $(BENCH_ARGS)

# The web client at scale in Debian's chromium (bench/client_scale.py): a room of 100,000
# messages opened at its first unread, and a room list of 31 rooms with unread counts.
bench-client: install browser-deps
	$(BIN)/python -m bench.client_scale $(BENCH_ARGS)
