# Everyday commands. Only Python 3.11+ and make are needed: uv is installed into .tools/.
PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
# the interpreter's real path, not a launcher such as a pyenv shim: uv compares it with the
# venv's interpreter and would otherwise rebuild .venv on every `make` (under running tests)
export UV_PYTHON ?= $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: run test lint typecheck unit format sync clean system-deps bench-media check-members docs k8s-validate compose-up compose-down

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

sync: $(UV)
	$(UV) sync --all-packages --locked

## make run: the whole system on the embedded default (no Docker, no API keys)
run: sync
	$(UV) run --no-sync python -m reelhouse.embedded

# pytest exits 5 when it collected nothing: say so loudly (and still fail) rather than let a
# mis-pointed run look like a short one
PYTEST = $(UV) run --no-sync pytest
define pytest_run
	$(PYTEST) $(1) $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make: pytest collected no tests in '$(1)' - failing" >&2; fi; \
	  exit $$rc; }
endef

# directories to type-check; bench/ joins once it holds Python (mypy rejects an empty directory)
TYPED_DIRS = libs services tests scripts $(if $(wildcard bench/*.py bench/**/*.py),bench)

## make test: lint, type-check, every member installed alone, and the whole test suite
test: sync system-deps lint typecheck check-members
	$(call pytest_run,tests)

# Debian packages the tests need: chromium for tests/browser (Playwright drives it by its path and
# never downloads a browser), faketime (libfaketime) for the clock-skew drills in tests/faults.
# Installed only when missing, and only as root with apt (CI); elsewhere those tests skip and
# say how to install it.
SYSTEM_PACKAGES ?= chromium faketime
define apt_install
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing $(1) (Debian packages)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $(1); \
	else \
	  echo "make: $(1) missing; install with: sudo apt-get install --no-install-recommends $(1)" >&2; \
	fi
endef

system-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/faketime ]; then :; else $(MAKE) --no-print-directory _apt-install PACKAGES="$(SYSTEM_PACKAGES)"; fi

_apt-install:
	$(call apt_install,$(PACKAGES))

## make compose-up: the whole system in containers on this machine (a private Docker engine,
## images from deploy/Dockerfile, compose.yaml + deploy/compose/local.yaml), waits until healthy;
## gateway http://127.0.0.1:8000, media :8001, API key in .reelhouse/compose-api-key.
## COMPOSE_ARGS passes options to `compose up`, e.g. COMPOSE_ARGS="--scale downloader=3"
compose-up:
	deploy/local/stack.sh up $(COMPOSE_ARGS)

## make compose-down: stops and removes what compose-up started (containers, volumes, the engine)
compose-down:
	deploy/local/stack.sh down

## make bench-media: media service vs direct S3 (throughput, TTFB, RSS), its variants, and local
## disk vs nginx; not part of `make test`. BENCH_ARGS="--object-mib 256 --seconds 4" shortens it
bench-media: sync
	@if command -v wrk >/dev/null 2>&1; then :; else $(MAKE) --no-print-directory _apt-install PACKAGES=wrk; fi
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; else $(MAKE) --no-print-directory _apt-install PACKAGES=nginx; fi
	$(UV) run --no-sync python -m bench.media $(BENCH_ARGS)

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

typecheck: sync
	$(UV) run --no-sync mypy $(TYPED_DIRS)

## make check-members: each workspace member synced alone (no dev groups) into
## .tools/members/<name>, every one of its modules imported, its imports checked against what it
## declares; an undeclared dependency fails here before it fails in an image
check-members: sync
	$(UV) run --no-sync python scripts/check_members.py --uv $(UV)

unit: sync
	$(call pytest_run,tests/unit)

format: sync
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

## make docs: rewrite README.md's configuration reference from the settings models
docs: sync
	$(UV) run --no-sync python -m tests.support.config_reference README.md

## make k8s-validate: render every Kubernetes overlay and validate it offline (also part of `make test`)
K8S_OVERLAYS = $(wildcard deploy/k8s/overlays/*)
k8s-validate: sync
	@for overlay in $(K8S_OVERLAYS); do \
	  echo "== $$overlay"; \
	  $(UV) run --no-sync kubectl kustomize $$overlay > .k8s-rendered.yaml || exit 1; \
	  $(UV) run --no-sync kubernetes-validate --strict --quiet -k 1.30.0 .k8s-rendered.yaml || exit 1; \
	done; rm -f .k8s-rendered.yaml

## make drills: the fault drills (tests/faults) with bigger batches — DRILL_COPIES sets of the mixed
## batch per fault (default 25: 200 jobs, compositions and uploads each) — then their table of
## measured recovery times. Outside CI (`make test` runs them with one set). Needs TEST_DATABASE_URL
## (default postgres@127.0.0.1:5432/test); PYTEST_ARGS="-k s3" picks drills
DRILL_COPIES ?= 25
DRILL_REPORT ?= .reelhouse/drills.jsonl
.PHONY: drills
drills: sync
	@mkdir -p $(dir $(DRILL_REPORT)) && rm -f $(DRILL_REPORT)
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
	  REELHOUSE_DRILL_COPIES=$(DRILL_COPIES) REELHOUSE_DRILL_REPORT=$(abspath $(DRILL_REPORT)) \
	  $(PYTEST) tests/faults -m faults -o session_timeout=14400 $(PYTEST_ARGS); rc=$$?; \
	  $(UV) run --no-sync python -m tests.faults.report $(DRILL_REPORT); exit $$rc

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache

## make bench-submit: POST /v1/generations on the gateway (PostgreSQL + NATS, SQLite + NATS) vs a
## floor app (FastAPI + one asyncpg INSERT), same run, plus a py-spy profile (not part of `make test`).
## PostgreSQL server: $$TEST_DATABASE_URL (default postgres@127.0.0.1:5432); BENCH_ARGS e.g. "--seconds 5"
.PHONY: bench-submit
bench-submit: sync
	@if command -v wrk >/dev/null 2>&1; then :; else $(MAKE) --no-print-directory _apt-install PACKAGES=wrk; fi
	$(UV) run --no-sync python -m bench.submit $(BENCH_ARGS)

## make bench-scale: 2,000 jobs of the sandbox's instant model through the whole system (PostgreSQL,
## NATS, SeaweedFS S3, each role its own process), 1 then 2 dispatchers and downloaders: jobs/s,
## CPU per job per role, completion-to-succeeded p50/p99, lost and duplicated jobs (not part of
## `make test`). PostgreSQL server: $$TEST_DATABASE_URL; BENCH_ARGS e.g. "--jobs 300 --profile"
.PHONY: bench-scale
bench-scale: sync
	$(UV) run --no-sync python -m bench.scale $(BENCH_ARGS)

## make bench-ingest: the downloader vs curl + fput_object on a >= 1 GiB output (not part of `make test`)
.PHONY: bench-ingest
bench-ingest: sync
	$(UV) run --no-sync python -m bench.ingest
