# questlog: the verbs a person uses. `make help` lists them.
# Everything a target needs is set up on first use: a pinned uv, the virtual environment
# (.venv, from uv.lock), and the Java components (Kafka, Trino, the Spark connector) in the
# download cache (.cache, or QUESTLOG_CACHE_DIR).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
CACHE := $(or $(QUESTLOG_CACHE_DIR),.cache)
UV := $(CACHE)/tools/bin/uv
VENV := .venv
QUESTLOG := $(VENV)/bin/questlog
PYTEST_ARGS ?=

##@ Quickstart

.PHONY: demo
demo: setup ## Start the local stack, send sample events through it, print the report
	$(QUESTLOG) demo

.PHONY: test
test: setup test-deps lint ## Run every test: lint, types, unit and integration (real stack)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: report
report: $(VENV)/.synced ## Run the analytics report on Trino (the running stack); chart in reports/
	$(QUESTLOG) report

.PHONY: compact
compact: $(VENV)/.synced ## Rewrite the lake's partitions of many small files into one file each
	$(QUESTLOG) compact $(ARGS)

##@ Local stack

.PHONY: setup
setup: $(VENV)/.synced ## Create the virtual environment and fetch the pinned Java components
	$(QUESTLOG) setup

.PHONY: up
up: setup ## Start Kafka, the Hive Metastore and Trino in the background; wait until ready
	$(QUESTLOG) up

.PHONY: status
status: $(VENV)/.synced ## Show which components run, where, their memory and logs
	$(QUESTLOG) status

.PHONY: logs
logs: $(VENV)/.synced ## Show the end of every component's log (follow: make logs ARGS=-f)
	$(QUESTLOG) logs $(ARGS)

.PHONY: down
down: $(VENV)/.synced ## Stop the local stack; its data (topics, metastore, lake) is kept
	$(QUESTLOG) down

.PHONY: clean
clean: ## Stop the local stack and delete its data (.stack)
	@if [ -x $(QUESTLOG) ]; then $(QUESTLOG) clean; else rm -rf .stack; fi

.PHONY: distclean
distclean: clean ## Also delete the virtual environment and the download cache
	rm -rf $(VENV) $(CACHE)

##@ Benchmarks

HEY := $(CACHE)/tools/go/bin/hey

.PHONY: bench
bench: bench-ingest bench-lake ## Run every benchmark (each prints its ratios, side by side)

.PHONY: bench-ingest
bench-ingest: setup $(HEY) ## Measure the ingest API against the original game API, side by side
	$(VENV)/bin/python -m bench.ingest $(ARGS)

.PHONY: bench-lake
bench-lake: setup ## Measure the stream: drain vs the UDF filter, freshness, batch durations
	$(VENV)/bin/python -m bench.lake $(ARGS)

$(HEY):
	@echo "Installing the load generator hey with go install ..."
	GOBIN=$(abspath $(CACHE)/tools/go/bin) go install github.com/rakyll/hey@v0.1.4

##@ Development

.PHONY: lint
lint: $(VENV)/.synced ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: format
format: $(VENV)/.synced ## Format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: test-unit
test-unit: $(VENV)/.synced ## Unit tests only (no stack needed)
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-deps
test-deps: ## Install what the integration tests need beyond the stack (PostgreSQL server)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  echo "Installing the PostgreSQL server (the metastore's database on Kubernetes) ..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL's initdb was not found; install the postgresql package." >&2; exit 1; fi; \
	fi

.PHONY: lock
lock: $(UV) ## Re-resolve the Python dependencies into uv.lock
	$(UV) lock

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

$(UV):
	@echo "Installing uv $(UV_VERSION) into $(CACHE)/tools ..."
	$(PYTHON) -m venv $(CACHE)/tools
	$(CACHE)/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	@echo "Creating the virtual environment $(VENV) from uv.lock ..."
	$(UV) sync --frozen --all-extras
	@touch $@
