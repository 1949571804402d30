# LienThong — two commands: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INFRA := deploy/local/infra.sh
OIDC := deploy/local/oidc.sh
SERVICES := deploy/local/services.sh
PYTEST_ARGS ?=
BENCH_SCALE ?= full
BENCH_ARGS ?=

.PHONY: help install lock audit contract system-deps infra-up infra-down oidc-up oidc-down topics run up down status test test-unit lint typecheck fmt bench chart clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

LOCK := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet

# Every dependency comes from the hashed lock (pip refuses anything else); the project itself is installed
# editable without dependencies on top.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install the project from the hashed lock (with the `lienthong` command)

lock: ## Re-resolve the hashed lock files from pyproject.toml (requirements/*.lock), after changing a dependency
	@test -x $(VENV)/bin/uv || $(PY) -m pip install -q uv==0.13.8
	$(UV_COMPILE) -o $(RUNTIME_LOCK)
	$(UV_COMPILE) --extra dev --extra bench -o $(LOCK)

audit: install ## pip-audit of the locked dependencies (warns and goes on when the advisory service is unreachable)
	$(PY) tools/audit.py $(RUNTIME_LOCK) $(LOCK)

system-deps: ## Debian packages for printed forms and their tests (Pango, DejaVu fonts, poppler), if missing
	bash deploy/local/system-deps.sh

infra-up: ## Start local Kafka and FerretDB (skipped for ones given by KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL)
	bash $(INFRA) up

infra-down: ## Stop local Kafka and FerretDB
	bash $(INFRA) down

oidc-up: ## Start the local OpenID Connect provider for citizens' login (Dex; skipped when CITIZEN_OIDC_ISSUER is set)
	bash $(OIDC) up

oidc-down: ## Stop the local OpenID Connect provider
	bash $(OIDC) down

topics: install ## Create the topics and their DLQs (idempotent)
	$(VENV)/bin/lienthong topics create

run: install system-deps infra-up oidc-up topics ## Install, start Kafka + FerretDB, the citizens' OIDC provider and all four services; Ctrl-C stops everything
	@trap 'bash $(SERVICES) stop; bash $(OIDC) down; bash $(INFRA) down' EXIT; bash $(SERVICES) foreground

up: install system-deps infra-up oidc-up topics ## Start everything in the background; returns when all four /readyz answer 200
	bash $(SERVICES) start
	bash $(SERVICES) wait

down: ## Stop the services and the local infrastructure
	-bash $(SERVICES) stop
	-bash $(OIDC) down
	bash $(INFRA) down

status: ## Show what is running
	-bash $(INFRA) status
	-bash $(OIDC) status
	bash $(SERVICES) status

lint: install ## ruff (lint + format check) and import-linter (services stay independent)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install ## mypy: --strict on shared/, the project's settings on services/
	$(VENV)/bin/mypy shared services

fmt: install ## Format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-unit: install ## Unit tests only (no infrastructure needed)
	$(VENV)/bin/pytest tests/unit -q $(PYTEST_ARGS)

test: install audit system-deps infra-up topics lint typecheck ## Full suite against real Kafka and FerretDB (what CI runs)
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

bench: install infra-up topics ## Benchmarks against same-run baselines (BENCH_SCALE=small|full; results in bench/results/)
	$(PY) -m bench --scale $(BENCH_SCALE) $(BENCH_ARGS)

contract: install ## Regenerate docs/asyncapi/*.json (AsyncAPI 3) and docs/openapi/*.json from the code
	$(VENV)/bin/lienthong contract write

chart: ## Build helm once into the cache, lint and render the Helm chart (deploy/helm/lienthong)
	@HELM=$$(bash deploy/helm/install-helm.sh) && $$HELM lint --strict deploy/helm/lienthong \
	  -f deploy/helm/lienthong/examples/existing-kafka-mongo.yaml && \
	  $$HELM template lienthong deploy/helm/lienthong -f deploy/helm/lienthong/examples/existing-kafka-mongo.yaml >/dev/null

clean: down ## Stop everything and remove local data (keeps the download cache)
	rm -rf .data
