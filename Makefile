# ANB Video — one entry point for running, testing, linting and measuring the platform.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
WORKERS ?= 1
PYTEST_ARGS ?=
# Ports of `make run` (the launcher's defaults when unset): make run PG_PORT=5433 GATEWAY_PORT=8080
GATEWAY_PORT ?=
INGEST_PORT ?=
MOTO_PORT ?=
PG_PORT ?=

.PHONY: uv sync sync-test sync-lint sync-bench sync-loadtest sync-plots run test lint migrate dist bench \
        bench-transcode bench-ingest bench-gateway bench-e2e capacity loadtest soak check-invariants newman clean test-tools rehearse stats \
        backfill

# uv, pinned, in a virtual environment of its own inside the project, made with the system's Python
# 3.11: no root, nothing installed system-wide (Debian refuses pip there: PEP 668). That pip reads the
# machine's pip configuration (index, certificates) like any other. The stamp names the version, so a
# new pin reinstalls; `.tools/.gitignore` keeps the folder out of git.
UV_VERSION := 0.13.9
UV_VENV := .tools/uv
UV := $(CURDIR)/$(UV_VENV)/bin/uv
UV_READY := $(UV_VENV)/uv-$(UV_VERSION).installed

$(UV_READY):
	@command -v python3.11 >/dev/null 2>&1 || \
		{ echo "make needs python3.11 with its venv module: see Prerequisites in README.md" >&2; exit 1; }
	rm -rf $(UV_VENV)
	python3.11 -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --no-cache-dir --disable-pip-version-check uv==$(UV_VERSION)
	echo '*' > .tools/.gitignore
	touch $@

uv: $(UV_READY)

# --locked: a lock that no longer matches the pyproject files fails instead of being re-resolved.
# --inexact: the targets share one .venv; each adds its group without removing another's (a `make run`
# started beside a `make test` must not uninstall pytest under it). `make run` needs no group.
SYNC = $(UV) sync --locked --all-packages --no-default-groups --inexact --quiet

sync: $(UV_READY)
	$(SYNC)

sync-test sync-lint sync-bench sync-loadtest sync-plots: sync-%: $(UV_READY)
	$(SYNC) --group $*

LAUNCHER_PORTS = $(if $(GATEWAY_PORT),--gateway-port $(GATEWAY_PORT)) $(if $(INGEST_PORT),--ingest-port $(INGEST_PORT)) \
	$(if $(MOTO_PORT),--moto-port $(MOTO_PORT)) $(if $(PG_PORT),--postgres-port $(PG_PORT))
run: sync
	$(UV) run --no-sync anb-dev --workers $(WORKERS) $(LAUNCHER_PORTS)

test: sync-test test-tools
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

# Debian tools the suite runs: ffmpeg's CLI (an independent decoder the transcoder's output is checked
# against), shellcheck and systemd-analyze (deploy scripts and units), npm (newman, the web app's pinned
# browser libraries), chromium (the web app's browser tests, driven by Playwright). Installing a
# missing one needs root; without root and without the tool, make says which and stops.
TEST_TOOLS := ffmpeg=ffmpeg shellcheck=shellcheck systemd-analyze=systemd npm=npm chromium=chromium
test-tools:
	@missing=$$(for pair in $(TEST_TOOLS); do command -v $${pair%%=*} >/dev/null 2>&1 || echo $${pair#*=}; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$(echo $$missing) with apt-get"; \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; } || \
		{ echo "make test needs: $$(echo $$missing) (as root: apt-get install -y $$(echo $$missing))" >&2; exit 1; }; \
	fi

lint: sync-lint
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy libs/common/src services/gateway/src services/ingest/src services/transcoder/src tools/devstack/src clients/cli/src deploy/capacity/anb_capacity loadtest bench
	MYPYPATH=deploy/rehearsal $(UV) run --no-sync mypy deploy/rehearsal/anb_rehearsal

migrate: sync
	$(UV) run --no-sync python -m anb_common.db.migrate upgrade

clean:
	rm -rf .devdata .pytest_cache .mypy_cache .ruff_cache

# Checks what must hold after any run (see tools/devstack/src/anb_devstack/invariants.py); give it the
# same PG_PORT/MOTO_PORT as the `make run` it checks.
check-invariants: sync
	$(if $(PG_PORT),ANB_DB_URL=postgresql+asyncpg://postgres@127.0.0.1:$(PG_PORT)/anb) \
	$(if $(MOTO_PORT),ANB_AWS_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT)) \
	$(UV) run --no-sync python -m anb_devstack.invariants --settle 60

# Poster, storyboard and HLS for the videos processed before they existed (issue 17), from their MP4s;
# give it the same PG_PORT/MOTO_PORT as the `make run` it works on (a deployment runs the same module
# with the worker's settings: python -m anb_transcoder.backfill).
backfill: sync
	$(if $(PG_PORT),ANB_DB_URL=postgresql+asyncpg://postgres@127.0.0.1:$(PG_PORT)/anb) \
	$(if $(MOTO_PORT),ANB_AWS_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT)) \
	$(UV) run --no-sync python -m anb_transcoder.backfill

# The ANB/Video figures a running `make run` published (to its moto's CloudWatch, as the deployment
# publishes to CloudWatch): give it the same MOTO_PORT as that `make run`.
stats: sync
	$(UV) run --no-sync python -m anb_devstack.stats $(if $(MOTO_PORT),--moto-port $(MOTO_PORT))

bench-transcode: sync-bench
	command -v ffmpeg >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq ffmpeg)
	$(UV) run --no-sync python bench/bench_transcode.py

bench-ingest: sync-bench
	$(UV) run --no-sync python bench/bench_ingest.py
	$(UV) run --no-sync python bench/bench_tus.py

bench-gateway: sync-bench
	command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	$(UV) run --no-sync python bench/bench_gateway.py

bench-e2e: sync-bench
	$(UV) run --no-sync python bench/bench_e2e.py

# Load tests (issue 7, capacity-planning/plan_de_pruebas.md): Locust headless against a platform it starts
# itself on 127.0.0.1. By default a short version for CI-sized time (~3 min): the web tier at 5 MB uploads,
# smoke then ramp+hold and sustained at LOADTEST_USERS, results under .devdata/loadtest-short/.
# `make loadtest FULL=1` is the course's plan (hours on 2 cores): smoke 60 s, ramp 180 s + hold 300 s,
# sustained 300 s, X searched for 5 MB and 50 MB uploads, then the worker tier (50/100 MB, 1/2/4 workers)
# and the plots in capacity-planning/. Durations can be set one by one, e.g. RAMP_S=60 HOLD_S=60.
FULL ?=
ifeq ($(FULL),1)
SMOKE_S ?= 60
RAMP_S ?= 180
HOLD_S ?= 300
SUSTAINED_S ?= 300
LOADTEST_DIR ?= .devdata/loadtest
else
SMOKE_S ?= 20
RAMP_S ?= 20
HOLD_S ?= 20
SUSTAINED_S ?= 20
LOADTEST_USERS ?= 10
LOADTEST_DIR ?= .devdata/loadtest-short
endif
LOADTEST_DURATIONS = --smoke-s $(SMOKE_S) --ramp-s $(RAMP_S) --hold-s $(HOLD_S) --sustained-s $(SUSTAINED_S)
loadtest: sync-loadtest
ifeq ($(FULL),1)
	$(UV) run --no-sync python -m loadtest.web --size-mb 5 $(LOADTEST_DURATIONS) --workdir $(LOADTEST_DIR) \
		$(if $(LOADTEST_USERS),--users $(LOADTEST_USERS))
	$(UV) run --no-sync python -m loadtest.web --size-mb 50 $(LOADTEST_DURATIONS) --workdir $(LOADTEST_DIR) \
		$(if $(LOADTEST_USERS),--users $(LOADTEST_USERS))
	$(UV) run --no-sync python -m loadtest.workers --workdir $(LOADTEST_DIR)
	$(UV) run --no-sync python -m loadtest.plots --workdir $(LOADTEST_DIR) --out capacity-planning
else
	$(UV) run --no-sync python -m loadtest.web --size-mb 5 $(LOADTEST_DURATIONS) --users $(LOADTEST_USERS) \
		--accounts 20 --workdir $(LOADTEST_DIR)
endif

# 50 simulated players for 3 minutes against a fresh platform; fails on any 5xx, lost upload or broken invariant.
soak: sync
	$(UV) run --no-sync python -m anb_devstack.soak --users 50 --duration 180 --uploads 50

# Every benchmark, then one table of the headline figures against their targets.
bench: sync-bench
	-$(MAKE) --no-print-directory bench-transcode
	-$(MAKE) --no-print-directory bench-ingest
	-$(MAKE) --no-print-directory bench-gateway
	-$(MAKE) --no-print-directory bench-e2e
	$(UV) run --no-sync python bench/summary.py

# The Postman collection against the running platform (`make run` in another terminal; another API with
# ANB_API_URL=...). newman comes from the npm registry into clients/postman/node_modules, pinned by its
# package-lock.json, never installed globally; the clips it uploads are generated into .devdata/newman.
newman: sync
	command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq npm)
	[ -x clients/postman/node_modules/.bin/newman ] \
	  && [ ! clients/postman/package-lock.json -nt clients/postman/node_modules/.package-lock.json ] \
	  || npm ci --prefix clients/postman --no-audit --no-fund
	$(UV) run --no-sync python clients/postman/fixtures.py .devdata/newman >/dev/null
	clients/postman/node_modules/.bin/newman run collections/anb.postman_collection.json \
	  --environment collections/postman_environment.json \
	  --env-var base_url=$${ANB_API_URL:-http://127.0.0.1:$(or $(GATEWAY_PORT),8000)/api} \
	  --working-dir $(CURDIR)/.devdata/newman --no-insecure-file-read

# ---- deploy (owned with deploy/) -------------------------------------------------------------
# The release an instance installs (deploy/publish-release.sh uploads it): our wheels, a wheelhouse of
# every third-party wheel pinned by hash from uv.lock (downloaded here, never at boot), one hashed
# requirements file per service naming our wheels too (one `pip install --no-index --require-hashes`
# installs a service and proves its dependency tree closed), the units, the bootstrap, the brand
# assets the deployment seeds into the bucket, pip itself (Debian's python3 has no ensurepip without
# python3-venv), RELEASE (the commit) and SHA256SUMS (what the instance checks after fetching).
# Wheels are for the AMI: Debian 12, CPython 3.11, glibc 2.36, x86_64.
# RDS_CA_BUNDLE: the CA bundle the services verify RDS's certificate against (AWS's global bundle,
# https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, fetched by whoever publishes),
# shipped as certs/rds-ca-bundle.pem. A release without it does not boot (the bootstrap refuses to
# connect unverified) and publish-release.sh refuses it; `make rehearse` ships its own stand-in's CA there.
DIST ?= dist
RDS_CA_BUNDLE ?=
# pip does not widen a --platform to older glibc versions by itself: every tag up to glibc 2.36 is listed.
RELEASE_PLATFORM := $(foreach v,$(shell seq 36 -1 5),--platform manylinux_2_$(v)_x86_64) \
	--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64 \
	--implementation cp --python-version 3.11 --abi cp311
BOOT_PIP := pip==26.0.1 --hash=sha256:bdb1b08f4274833d62c1aa29e20907365a2ceb950410df15fc9521bad440122b
PIP_DOWNLOAD = $(UV_VENV)/bin/python -m pip download --quiet --disable-pip-version-check \
	--cache-dir $(CURDIR)/.tools/pip-cache --only-binary=:all: --no-deps --require-hashes $(RELEASE_PLATFORM)
SERVICES := gateway ingest transcoder
dist: uv
	rm -rf $(DIST)
	mkdir -p $(DIST)/wheels $(DIST)/wheelhouse $(DIST)/requirements $(DIST)/systemd $(DIST)/bootstrap $(DIST)/resources
	for p in anb-common $(addprefix anb-,$(SERVICES)); do \
		$(UV) build --quiet --package $$p --wheel --out-dir $(DIST)/wheels || exit 1; done
	rm -f $(DIST)/wheels/.gitignore
	for s in $(SERVICES); do $(UV) export --quiet --frozen --no-dev --no-emit-workspace --no-header \
		--package anb-$$s -o $(DIST)/requirements/anb-$$s.txt || exit 1; done
	echo '$(BOOT_PIP)' >$(DIST)/requirements/pip.txt
	# One pip run for every list: pip's start-up and index look-ups, not the copying, are most of its
	# time (three runs took 30 s, one takes 12 s).
	$(PIP_DOWNLOAD) -d $(DIST)/wheelhouse $(foreach s,$(SERVICES),-r $(DIST)/requirements/anb-$(s).txt) \
		-r $(DIST)/requirements/pip.txt
	# The project's own wheels join each list after the download: they are not on any index.
	set -eo pipefail; for s in $(SERVICES); do \
		for w in $(DIST)/wheels/anb_common-*.whl $(DIST)/wheels/anb_$$s-*.whl; do \
			n=$$(basename $$w); echo "$$(echo $${n%%-*} | tr _ -)==$$(echo $$n | cut -d- -f2) \\"; \
			echo "    --hash=sha256:$$(sha256sum $$w | cut -d' ' -f1)"; done >>$(DIST)/requirements/anb-$$s.txt; \
	done
	cp deploy/systemd/*.service $(DIST)/systemd/
	find deploy/bootstrap -maxdepth 1 -type f -exec cp -t $(DIST)/bootstrap/ {} +
	cp tools/devstack/src/anb_devstack/assets/{logo,intro,outro}.png $(DIST)/resources/
	$(if $(RDS_CA_BUNDLE),mkdir -p $(DIST)/certs && cp $(RDS_CA_BUNDLE) $(DIST)/certs/rds-ca-bundle.pem)
	git describe --always --dirty --abbrev=12 >$(DIST)/RELEASE
	cd $(DIST) && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS
	@du -sm $(DIST) | cut -f1 | xargs printf 'release_mb=%s\n'

# The deployment rehearsed on this machine (deploy/rehearsal, deploy/README.md "The rehearsal"): a web
# and a worker host booted with systemd-nspawn from a cached debootstrap of Debian 12, running the
# launch templates' own user data against moto, stand-ins for IMDS and CloudFormation, and PostgreSQL;
# then the player's flow and the drills. Needs root; the last line is JSON.
REHEARSE_TOOLS := debootstrap=debootstrap systemd-nspawn=systemd-container nsenter=util-linux
rehearse: sync-test dist
	@missing=$$(for pair in $(REHEARSE_TOOLS); do command -v $${pair%%=*} >/dev/null 2>&1 || echo $${pair#*=}; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi
	PYTHONPATH=deploy/rehearsal $(UV) run --no-sync python -m anb_rehearsal --dist $(DIST)

# Simulates the transcoder group under both scaling policies; writes capacity-planning/scaling.md + PNG.
capacity: sync-plots
	PYTHONPATH=deploy/capacity $(UV) run --no-sync python -m anb_capacity
