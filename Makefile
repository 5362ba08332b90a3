# ANB Video — one entry point for running, testing, linting and measuring the platform.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV ?= $(shell command -v uv 2>/dev/null)
WORKERS ?= 1
PYTEST_ARGS ?=

.PHONY: uv sync run test lint migrate dist bench bench-transcode bench-ingest bench-gateway bench-e2e \
        capacity loadtest soak check-invariants newman clean

# uv is the only tool we need installed globally; pip brings it when missing.
uv:
	@command -v uv >/dev/null 2>&1 || python3.11 -m pip install --quiet uv

sync: uv
	uv sync --all-packages --frozen 2>/dev/null || uv sync --all-packages

run: sync
	uv run anb-dev --workers $(WORKERS)

test: sync
	uv run pytest $(PYTEST_ARGS)

lint: sync
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy libs/common/src services/gateway/src services/ingest/src services/transcoder/src tools/devstack/src clients/cli/src

migrate: sync
	uv run python -m anb_common.db.migrate upgrade

clean:
	rm -rf .devdata .pytest_cache .mypy_cache .ruff_cache

# Checks what must hold after any run (see tools/devstack/src/anb_devstack/invariants.py).
check-invariants: sync
	ANB_PROCESSING_TEMP_DIR=$${ANB_PROCESSING_TEMP_DIR:-.devdata/anb-temp} uv run python -m anb_devstack.invariants --settle 60

bench-transcode: sync
	command -v ffmpeg >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq ffmpeg)
	uv run python bench/bench_transcode.py

bench-ingest: sync
	uv run python bench/bench_ingest.py

bench-gateway: sync
	command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	uv run python bench/bench_gateway.py

bench-e2e: sync
	uv run python bench/bench_e2e.py

# 50 simulated players for 3 minutes against a fresh platform; fails on any 5xx, lost upload or broken invariant.
soak: sync
	uv run python -m anb_devstack.soak --users 50 --duration 180
