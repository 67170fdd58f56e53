# Everyday commands. Only Python 3.11+ and make are needed: uv is installed into .tools/.
PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON ?= $(shell command -v $(PYTHON))

.PHONY: run test lint typecheck unit format sync clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

sync: $(UV)
	$(UV) sync --all-packages --locked

## make run: the whole system on the embedded default (no Docker, no API keys)
run: sync
	$(UV) run --no-sync python -m reelhouse.embedded

## make test: lint, type-check and the whole test suite
test: sync lint typecheck
	$(UV) run --no-sync pytest

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

typecheck: sync
	$(UV) run --no-sync mypy libs services tests bench

unit: sync
	$(UV) run --no-sync pytest tests/unit

format: sync
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

clean:
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
