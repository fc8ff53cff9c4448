# questlog: the verbs a person uses. `make help` lists them.
# Everything a target needs is set up on first use: a pinned uv, the virtual environment
# (.venv, from uv.lock), and the Java components (Kafka, Trino, the Spark connector) in the
# download cache (.cache, or QUESTLOG__CACHE_DIR; QUESTLOG_CACHE_DIR, its old name, too).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
CACHE := $(or $(QUESTLOG__CACHE_DIR),$(QUESTLOG_CACHE_DIR),.cache)
UV := $(CACHE)/tools/bin/uv
VENV := .venv
QUESTLOG := $(VENV)/bin/questlog
# The benchmarks' load generator (make bench; its quick mode runs in make test).
HEY := $(CACHE)/tools/go/bin/hey
PYTEST_ARGS ?=

##@ Quickstart

.PHONY: demo
demo: setup ## Start the local stack, send sample events through it, build the assessments, print the report
	$(QUESTLOG) demo

.PHONY: test
test: setup test-deps chart-tools lint images k8s-packages $(HEY) ## Run every test: lint, types, unit, charts, images (Docker), the test cluster (Kubernetes), integration (real stack) and the benchmarks' quick mode
	$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: report
report: $(VENV)/.synced ## Run the analytics report on Trino (the running stack); chart in reports/
	$(QUESTLOG) report

.PHONY: load
load: setup ## Play the game with Locust for 2 minutes, check thresholds, reconcile in Trino (ARGS=--shape spike)
	$(QUESTLOG) load $(ARGS)

.PHONY: compact
compact: $(VENV)/.synced ## Maintain the lake's Iceberg tables: compact small files, expire snapshots, remove orphans
	$(QUESTLOG) compact $(ARGS)

ASSESSMENTS_FILE ?= $(or $(QUESTLOG__STATE_DIR),$(QUESTLOG_STATE_DIR),.stack)/assessment-attempts.jsonl

.PHONY: assessments
assessments: up ## The ed-tech project: generate assessment attempts, load them into Kafka, build their tables (ARGS=--records 300)
	$(QUESTLOG) assessments generate $(ASSESSMENTS_FILE) $(ARGS)
	$(QUESTLOG) publish $(ASSESSMENTS_FILE) --topic assessments
	$(QUESTLOG) assessments build

##@ Local stack

.PHONY: setup
setup: $(VENV)/.synced stack-packages ## Create the virtual environment and fetch the pinned Java components
	$(QUESTLOG) setup

.PHONY: stack-packages
stack-packages: ## Install Prometheus (Debian's package) when it is missing
	@if [ -z "$$QUESTLOG_PROMETHEUS_BIN" ] && ! command -v prometheus >/dev/null; then \
	  echo "Installing Prometheus (the prometheus package) ..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else echo "Prometheus was not found; install the prometheus package." >&2; exit 1; fi; \
	fi

.PHONY: up
up: setup ## Start the local stack (Kafka, metastore, Trino, API, stream, Prometheus); wait until ready
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

.PHONY: bench
bench: setup $(HEY) ## Run every benchmark in one run; one table of ratios (reports/bench.md, .png)
	$(VENV)/bin/python -m bench $(ARGS)

.PHONY: bench-ingest
bench-ingest: setup $(HEY) ## Measure the ingest API against the original game API, side by side
	$(VENV)/bin/python -m bench.ingest $(ARGS)

.PHONY: bench-flood
bench-flood: setup $(HEY) ## Measure a keyed client's p99 during an unauthenticated flood, against alone
	$(VENV)/bin/python -m bench.flood $(ARGS)

.PHONY: bench-lake
bench-lake: setup ## Measure the stream: drain vs the UDF filter, the engine's ceiling and Apache Iceberg's Kafka Connect sink, freshness, batch durations
	$(VENV)/bin/python -m bench.lake $(ARGS)

.PHONY: bench-query
bench-query: setup ## Measure queries: Trino vs DuckDB on the same Parquet, small files vs maintained
	$(VENV)/bin/python -m bench.query $(ARGS)

$(HEY):
	@echo "Installing the load generator hey with go install ..."
	GOBIN=$(abspath $(CACHE)/tools/go/bin) go install github.com/rakyll/hey@v0.1.4

##@ Kubernetes

# Go tools, pinned, each built into a folder named by its version so a new pin rebuilds it.
HELM_VERSION := v3.22.0
KUBECONFORM_VERSION := v0.8.0
CT_VERSION := v3.14.0
KIND_VERSION := v0.33.0
GO_TOOLS := $(abspath $(CACHE)/tools/go)
HELM := $(GO_TOOLS)/helm-$(HELM_VERSION)/helm
KUBECONFORM := $(GO_TOOLS)/kubeconform-$(KUBECONFORM_VERSION)/kubeconform
CT := $(GO_TOOLS)/ct-$(CT_VERSION)/ct
HELM_DOCS_VERSION := v1.14.2
HELM_DOCS := $(GO_TOOLS)/helm-docs-$(HELM_DOCS_VERSION)/helm-docs
KUBE_SCORE_VERSION := v1.20.0
KUBE_SCORE := $(GO_TOOLS)/kube-score-$(KUBE_SCORE_VERSION)/kube-score
KIND := $(GO_TOOLS)/kind-$(KIND_VERSION)/kind
export QUESTLOG_HELM := $(HELM)
export QUESTLOG_KUBECONFORM := $(KUBECONFORM)
export QUESTLOG_CT := $(CT)
export QUESTLOG_HELM_DOCS := $(HELM_DOCS)
export QUESTLOG_KUBE_SCORE := $(KUBE_SCORE)
export QUESTLOG_UV := $(abspath $(UV))

.PHONY: chart-tools
chart-tools: $(HELM) $(KUBECONFORM) $(CT) $(HELM_DOCS) $(KUBE_SCORE) ## Build helm, kubeconform, ct, helm-docs and kube-score with Go

.PHONY: chart-docs
chart-docs: $(HELM_DOCS) ## Regenerate each chart's README from its values.yaml comments
	$(HELM_DOCS) --chart-search-root helm

.PHONY: chart-lint
chart-lint: $(VENV)/.synced chart-tools ## Validate the charts offline: helm lint, ct lint, kubeconform, kube-score, hadolint
	$(VENV)/bin/pytest tests/charts $(PYTEST_ARGS)

DEPLOY := HELM=$(HELM) KIND=$(KIND) PYTHON=$(abspath $(VENV)/bin/python) k8s/deploy.sh
# The test cluster's (make k8s-up); make deploy/helm-test/loadtest use $$KUBECONFIG otherwise.
K8S_KUBECONFIG := $(abspath .k8s/kubeconfig)
# While the test cluster runs, the Kubernetes targets use it unless KUBECONFIG is set.
ifeq ($(origin KUBECONFIG),undefined)
ifneq ($(wildcard $(K8S_KUBECONFIG)),)
export KUBECONFIG := $(K8S_KUBECONFIG)
endif
endif
KUBERNETES_VERSION := $(shell sed -n 's/^KUBERNETES_VERSION = "\(.*\)"/\1/p' questlog/k8s/__init__.py)
# kubectl: the test cluster's build once `make k8s-up` has made it, else the one on PATH.
K8S_KUBECTL := $(abspath $(CACHE)/k8s/kubernetes-$(KUBERNETES_VERSION)/kubectl)
export KUBECTL := $(if $(wildcard $(K8S_KUBECTL)),$(K8S_KUBECTL),kubectl)

.PHONY: k8s-up
k8s-up: setup images k8s-packages $(HELM) ## Start questlog's own single-node Kubernetes here (built once), load the images, install questlog
	$(QUESTLOG) k8s up
	KUBECONFIG=$(K8S_KUBECONFIG) $(DEPLOY) install

.PHONY: k8s-down
k8s-down: $(VENV)/.synced $(HELM) ## Uninstall questlog, stop the cluster and put the machine back as it was
	@if [ -f $(K8S_KUBECONFIG) ]; then KUBECONFIG=$(K8S_KUBECONFIG) $(DEPLOY) uninstall; fi
	$(QUESTLOG) k8s down

.PHONY: k8s-status
k8s-status: $(VENV)/.synced ## Show the cluster's processes, their memory, and its pods
	$(QUESTLOG) k8s status

.PHONY: k8s-packages
k8s-packages: ## Install etcd, the CNI plugins and conntrack (Debian's packages) when missing
	@missing=""; \
	command -v etcd >/dev/null || missing="etcd-server"; \
	[ -x /usr/lib/cni/bridge ] || missing="$$missing containernetworking-plugins"; \
	command -v conntrack >/dev/null || missing="$$missing conntrack"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$${missing/#/ } (the test cluster's store, pod network, Service NAT) ..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing: $$missing; install these packages." >&2; exit 1; fi; \
	fi

.PHONY: deploy
deploy: images $(HELM) $(KIND) ## Create a kind cluster, load the images, install questlog's laptop profile (needs kubectl)
	$(DEPLOY) deploy

.PHONY: helm-test
helm-test: $(HELM) ## Run the charts' helm test hooks on the cluster of $$KUBECONFIG (the test cluster's, while it runs)
	$(DEPLOY) helm-test

.PHONY: loadtest
loadtest: $(VENV)/.synced $(HELM) ## Run the Locust scenarios as a Job in the cluster, reconcile in Trino (LOAD_SHAPE, LOAD_USERS, LOAD_SECONDS)
	$(DEPLOY) loadtest

.PHONY: k8s-forget
k8s-forget: $(VENV)/.synced $(HELM) ## Erase user USER_ID from every table of the cluster's lake (questlog forget's job, as a SparkApplication)
	$(DEPLOY) forget "$(USER_ID)"

.PHONY: port-forward
port-forward: ## Reach the deployed API (:8000), Trino (:8080) and Prometheus (:9090)
	$(DEPLOY) port-forward

.PHONY: undeploy
undeploy: $(KIND) ## Delete the kind cluster and everything in it
	$(DEPLOY) undeploy

# Builds a Go command from its module at one version (images/go-build.sh, which the images'
# Go stages use too). Arguments: module, version, package, binary, ldflags.
define go_build
	@images/go-build.sh $(1) $(2) "$(3)" $(4) "$(5)"
endef

$(HELM):
	$(call go_build,helm.sh/helm/v3,$(HELM_VERSION),cmd/helm,$@,-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION))

$(KUBECONFORM):
	$(call go_build,github.com/yannh/kubeconform,$(KUBECONFORM_VERSION),cmd/kubeconform,$@,)

$(CT):
	$(call go_build,github.com/helm/chart-testing/v3,$(CT_VERSION),ct,$@,-X github.com/helm/chart-testing/v3/ct/cmd.Version=$(CT_VERSION))

$(HELM_DOCS):
	$(call go_build,github.com/norwoodj/helm-docs,$(HELM_DOCS_VERSION),cmd/helm-docs,$@,)

$(KUBE_SCORE):
	$(call go_build,github.com/zegl/kube-score,$(KUBE_SCORE_VERSION),cmd/kube-score,$@,-X main.version=$(KUBE_SCORE_VERSION))

$(KIND):
	$(call go_build,sigs.k8s.io/kind,$(KIND_VERSION),,$@,)

##@ Images

.PHONY: images
images: setup docker-engine ## Build the container images (IMAGES="kafka trino" for some; ARGS=--no-cache); print their sizes
	$(QUESTLOG) images $(IMAGES) $(ARGS)

.PHONY: docker-engine
docker-engine: ## Install Docker and debootstrap (Debian's packages) when missing; start dockerd when none answers
	@missing=""; \
	command -v dockerd >/dev/null || missing="docker.io"; \
	command -v debootstrap >/dev/null || missing="$$missing debootstrap"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$${missing/#/ } (the image builds' engine; the stand-in bases) ..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing: $$missing; install these packages." >&2; exit 1; fi; \
	fi
	@if ! docker info >/dev/null 2>&1; then \
	  if [ "$$(id -u)" != 0 ]; then echo "No Docker engine answers; start dockerd." >&2; exit 1; fi; \
	  mkdir -p $(CACHE)/logs; \
	  echo "Starting dockerd in the background (log: $(CACHE)/logs/dockerd.log) ..."; \
	  nohup dockerd > $(CACHE)/logs/dockerd.log 2>&1 & \
	  for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not answer; see $(CACHE)/logs/dockerd.log" >&2; exit 1; }; \
	fi

##@ Development

.PHONY: docs
docs: $(VENV)/.synced ## Build the documentation site (docs/, MkDocs) into .cache/site
	$(VENV)/bin/mkdocs build --quiet
	@echo "The site is in .cache/site: open .cache/site/index.html"

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
test-deps: ## Install what the tests need beyond the stack: PostgreSQL server, Chromium (Debian packages)
	@missing=""; \
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  missing="postgresql"; fi; \
	if [ ! -x "$${QUESTLOG_CHROMIUM:-/usr/bin/chromium}" ]; then missing="$$missing chromium fonts-dejavu-core"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$${missing/#/ } (the metastore's and registry's database; the page tests' browser) ..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Missing: $$missing; install these packages." >&2; exit 1; fi; \
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

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml
	@echo "Creating the virtual environment $(VENV) from uv.lock ..."
	$(UV) sync --frozen --all-extras
	@touch $@
