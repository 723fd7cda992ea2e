# Two commands matter: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: fuzz run admin test lint chromium format typecheck bench bench-providers bench-ingest bench-exports bench-chat bench-search bench-retrieval bench-queue uv sync

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

bench-chat: sync
	$(UV) run --frozen python -m bench.bench_chat

bench-search: sync
	$(UV) run --frozen python -m bench.bench_search

bench-retrieval: sync
	$(UV) run --frozen python -m bench.bench_retrieval

bench-queue: sync
	$(UV) run --frozen python -m bench.bench_exports_queue
