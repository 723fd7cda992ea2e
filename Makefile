# Two commands matter: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: fuzz run admin test lint chromium format typecheck bench bench-providers bench-ingest bench-exports bench-chat bench-chat-env soak bench-search bench-retrieval bench-queue uv sync

uv:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || python3 -m pip install --user --quiet uv \
		|| python3 -m pip install --user --quiet --break-system-packages uv

sync: uv
	$(UV) sync --frozen

run: sync
	$(UV) run --frozen assistant serve

# Create (or promote) an administrator in the database `make run` uses: prompts for the email and
# password, or takes them from EMAIL and PASSWORD (read by the command, never echoed by make).
admin: sync
	@ADMIN_EMAIL="$${EMAIL:-}" ADMIN_PASSWORD="$${PASSWORD:-}" $(UV) run --frozen assistant create-admin

test: sync chromium
	$(UV) run --frozen pytest -n 2 -p no:cacheprovider

# The browser tests drive Debian's chromium (never a downloaded browser); install it when missing.
chromium:
	@test -x /usr/bin/chromium || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

fuzz: sync  # a longer schemathesis run than the suite's (no 5xx from any operation)
	SCHEMATHESIS_MAX_EXAMPLES=50 $(UV) run --frozen pytest -n 0 -p no:cacheprovider tests/integration/test_schemathesis.py

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: sync
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

bench: bench-providers bench-ingest bench-exports bench-queue bench-chat bench-search bench-retrieval

bench-providers: sync
	$(UV) run --frozen python -m bench.bench_router

bench-ingest: sync
	$(UV) run --frozen python -m bench.bench_ingest
	$(UV) run --frozen python -m bench.bench_ingest_e2e

bench-exports: sync
	$(UV) run --frozen python -m bench.bench_exports

# The chat benchmark's own environment: Chainlit (the comparison), py-spy (profiles), and the
# websockets/httptools versions of uv.lock so that uvicorn serves Chainlit as it serves us. It
# lives in a cache folder, never in the project's dependencies or lock.
BENCH_CHAT_ENV ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/unified-assistant/bench-chat
BENCH_CHAT_PINS := chainlit==2.12.0 py-spy==0.4.3 websockets==17.4 httptools==0.9.0

bench-chat-env: uv
	@test -f "$(BENCH_CHAT_ENV)/pins" && test "$$(cat '$(BENCH_CHAT_ENV)/pins')" = "$(BENCH_CHAT_PINS)" || { \
		$(UV) venv -q --allow-existing --python 3.11 "$(BENCH_CHAT_ENV)" \
		&& $(UV) pip install -q --python "$(BENCH_CHAT_ENV)/bin/python" $(BENCH_CHAT_PINS) \
		&& echo "$(BENCH_CHAT_PINS)" > "$(BENCH_CHAT_ENV)/pins"; }

# ARGS passes options on, e.g. make bench-chat ARGS="--levels 1,40 --profile"
bench-chat: sync bench-chat-env
	BENCH_CHAT_ENV="$(BENCH_CHAT_ENV)" $(UV) run --frozen python -m bench.bench_chat $(ARGS)

# 500 concurrent sessions x 6 messages against a server started as make run starts it; then
# every message is checked in its database. Exits non-zero on any error, loss or duplicate.
soak: sync
	$(UV) run --frozen python -m bench.soak $(ARGS)

bench-search: sync
	$(UV) run --frozen python -m bench.bench_search

bench-retrieval: sync
	$(UV) run --frozen python -m bench.bench_retrieval

bench-queue: sync
	$(UV) run --frozen python -m bench.bench_exports_queue
