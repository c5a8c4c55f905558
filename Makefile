# CareMesh: `make run` to start everything, `make test` to run every test.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif

.PHONY: run test check infra infra-down deps demo token schemas templates bench docs chaos

deps:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

infra:
	scripts/infra up

infra-down:
	scripts/infra down

run: deps
	UV="$(UV)" scripts/run

# Lint, format, types and the import contracts: fast, so first. Then the event catalogue: no
# breaking change to a published type, no drift, and the official AsyncAPI parser finds 0 errors.
check: deps
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) run caremesh-schemas --check
	cd contracts/asyncapi-check && npm ci --no-audit --no-fund --ignore-scripts --silent && npm run --silent check

test: deps check infra
	$(UV) run pytest

demo: deps
	scripts/demo

token: deps
	@$(UV) run caremesh-token --role coordinator

# The tables in docs/ that the code states (events, subscriptions, settings); tests/docs checks them.
docs: deps
	$(UV) run python scripts/doctables.py

# The event catalogue (JSON Schemas and the AsyncAPI document) from the contracts.
schemas: deps
	$(UV) run caremesh-schemas

# Renders every notification template with its sample data; exits 1 on any problem (CI-usable).
templates: deps
	$(UV) run caremesh-templates check

# Every benchmark in turn (about 15 minutes), then one table of figures against the targets.
bench: infra deps
	$(UV) run python bench/summary.py

# Faults under a booking load (kill -9 each service, broker restart, a store down for 30 s), CHAOS_N
# requests each; `make test` runs the same suite at 10. Restarts the shared broker and one store.
CHAOS_N ?= 100
chaos: infra deps
	CHAOS_N=$(CHAOS_N) $(UV) run pytest tests/chaos -m chaos -s
