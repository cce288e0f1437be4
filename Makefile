# cutover — blue/green EKS migrations on Temporal.
# `make help` lists the targets. Every tool a target needs is installed by
# the target itself: Go tools into bin/, moto into .venv/, etcd from Debian.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO            ?= go
BIN           := $(CURDIR)/bin
VENV          := $(CURDIR)/.venv
TEMPORAL_CLI_VERSION := v1.5.1
KUBE_VERSION  := v1.31.14
MOTO_VERSION  := 5.1.22
PYTEST_VERSION := 9.2.0
WORKFLOWCHECK_VERSION := v0.6.0
HELM_VERSION  := v3.21.4
TEMPORAL_ADDRESS ?= 127.0.0.1:7233
TEMPORAL_UI_PORT ?= 8233
DEV_DB        ?= $(CURDIR)/.dev/temporal-dev.db
# Stamped into both binaries (internal/buildinfo): `cutover version` and
# the worker's startup log print them. deploy/Dockerfile takes the same two
# as build args.
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS       := -X github.com/cutover-dev/cutover/internal/buildinfo.Version=$(VERSION) -X github.com/cutover-dev/cutover/internal/buildinfo.Commit=$(COMMIT)

export PATH := $(BIN):$(PATH)
export CUTOVER_TOOLS_DIR := $(BIN)
export CUTOVER_VENV := $(VENV)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_\/.-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Tools (cached in bin/ and .venv/)

.PHONY: tools
tools: $(BIN)/temporal $(BIN)/kube-apiserver etcd chromium $(VENV)/bin/moto_server pytest $(BIN)/helm $(BIN)/promql-check ## Install every tool the tests and the demo need

$(BIN)/temporal:
	@echo ">> installing Temporal CLI $(TEMPORAL_CLI_VERSION) into bin/ (go install)"
	@mkdir -p $(BIN)
	@GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION) \
		|| { echo "!! Temporal CLI: go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION) failed (is the Go module proxy reachable?)" >&2; exit 1; }

$(BIN)/kube-apiserver: tools/kube/go.mod tools/kube/go.sum
	@echo ">> building kube-apiserver $(KUBE_VERSION) into bin/ (tools/kube module; a few minutes the first time)"
	@mkdir -p $(BIN)
	@cd tools/kube && CGO_ENABLED=0 $(GO) build -o $(BIN)/kube-apiserver \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=31 -X k8s.io/component-base/version.gitTreeState=clean" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		|| { echo "!! kube-apiserver: build of k8s.io/kubernetes/cmd/kube-apiserver in tools/kube failed" >&2; exit 1; }

.PHONY: etcd
etcd: ## Install etcd (Debian etcd-server) if it is not on PATH
	@if command -v etcd >/dev/null 2>&1; then echo ">> etcd: $$(etcd --version | head -1)"; else \
		echo ">> installing etcd-server with apt-get"; \
		SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq etcd-server >/dev/null; } \
		|| { echo "!! etcd: apt-get install etcd-server failed" >&2; exit 1; }; \
		echo ">> etcd: $$(etcd --version | head -1)"; fi

.PHONY: chromium
chromium: ## Install Chromium (Debian chromium) if it is not on PATH: the report's browser test drives it headless
	@if command -v chromium >/dev/null 2>&1; then echo ">> chromium: $$(chromium --version 2>/dev/null | head -1)"; else \
		echo ">> installing chromium with apt-get"; \
		SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "!! chromium: apt-get install chromium failed" >&2; exit 1; }; \
		echo ">> chromium: $$(chromium --version 2>/dev/null | head -1)"; fi

$(VENV)/bin/moto_server:
	@echo ">> installing moto[server]==$(MOTO_VERSION) into .venv/"
	@python3 -m venv $(VENV) 2>/dev/null || { \
		echo ">> python3 -m venv failed; installing python3-venv with apt-get"; rm -rf $(VENV); \
		SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null && python3 -m venv $(VENV); } \
		|| { echo "!! moto: could not create the virtualenv .venv (python3 -m venv, even after apt-get install python3-venv)" >&2; exit 1; }; }
	@$(VENV)/bin/pip install -q 'moto[server]==$(MOTO_VERSION)' \
		|| { echo "!! moto: pip install 'moto[server]==$(MOTO_VERSION)' failed" >&2; exit 1; }

# pytest runs the EKS emulator's tests (internal/sandbox/motoext); installed
# into the project venv, and reinstalled when missing or at another version.
.PHONY: pytest
pytest: $(VENV)/bin/moto_server
	@v=$$({ $(VENV)/bin/pip show pytest 2>/dev/null || true; } | awk '/^Version:/{print $$2}'); \
	if [ "$$v" != "$(PYTEST_VERSION)" ]; then \
		echo ">> installing pytest==$(PYTEST_VERSION) into .venv/ (found: $${v:-none})"; \
		$(VENV)/bin/pip install -q 'pytest==$(PYTEST_VERSION)' \
			|| { echo "!! pytest: pip install 'pytest==$(PYTEST_VERSION)' failed" >&2; exit 1; }; \
	fi

$(BIN)/helm:
	@echo ">> installing helm $(HELM_VERSION) into bin/ (go install; renders and lints deploy/helm in the tests)"
	@mkdir -p $(BIN)
	@GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) \
		|| { echo "!! helm: go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) failed" >&2; exit 1; }

$(BIN)/promql-check: tools/promql/go.mod tools/promql/go.sum tools/promql/main.go
	@echo ">> building promql-check into bin/ (tools/promql: Prometheus's PromQL parser and rule loader check deploy's dashboard and alerts)"
	@mkdir -p $(BIN)
	@cd tools/promql && $(GO) build -o $(BIN)/promql-check . \
		|| { echo "!! promql-check: build of tools/promql failed" >&2; exit 1; }

$(BIN)/workflowcheck:
	@echo ">> installing workflowcheck $(WORKFLOWCHECK_VERSION) into bin/"
	@GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

.PHONY: tools-versions
tools-versions: ## Print the version of every sandbox tool and check kube-apiserver and moto match the pins
	@echo ">> temporal: $$($(BIN)/temporal --version 2>&1 || echo 'missing: run make tools')"
	@v=$$($(BIN)/kube-apiserver --version 2>&1 || true); echo ">> kube-apiserver: $$v"; \
		case "$$v" in *"$(KUBE_VERSION)"*) ;; *) echo "!! kube-apiserver: want $(KUBE_VERSION); rm $(BIN)/kube-apiserver && make tools" >&2; exit 1;; esac
	@echo ">> etcd: $$(etcd --version 2>&1 | head -1 || echo 'missing: run make etcd')"
	@v=$$($(VENV)/bin/pip show moto 2>/dev/null | awk '/^Version:/{print $$2}'); echo ">> moto: $${v:-missing}"; \
		[ "$$v" = "$(MOTO_VERSION)" ] || { echo "!! moto: want $(MOTO_VERSION); rm -rf $(VENV) && make tools" >&2; exit 1; }
	@v=$$({ $(VENV)/bin/pip show pytest 2>/dev/null || true; } | awk '/^Version:/{print $$2}'); echo ">> pytest: $${v:-missing}"; \
		[ "$$v" = "$(PYTEST_VERSION)" ] || { echo "!! pytest: want $(PYTEST_VERSION); make pytest" >&2; exit 1; }

##@ Development

.PHONY: build
build: ## Build cutover (CLI) and cutover-worker into bin/ (VERSION=... names the release; default git describe; COMMIT=... default HEAD)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/cutover ./cmd/cutover
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/cutover-worker ./cmd/cutover-worker

.PHONY: schema
schema: ## Regenerate deploy/schema (migration spec and fleet JSON Schemas) from the Go types
	$(GO) run ./cmd/genschema -out deploy/schema/migration-spec.schema.json -fleet-out deploy/schema/fleet.schema.json

.PHONY: iam-policy
iam-policy: ## Regenerate deploy/iam/cutover-worker-policy.json: cutover iam-policy of every document in deploy/examples
	$(GO) run ./cmd/cutover iam-policy $(addprefix -f ,$(sort $(wildcard deploy/examples/*.json deploy/examples/fleet/*.json))) --account '$${AccountId}' > deploy/iam/cutover-worker-policy.json

.PHONY: dev
dev: $(BIN)/temporal build ## Start a Temporal dev server (UI on :8233) and the worker
	@mkdir -p $(dir $(DEV_DB))
	@echo ">> Temporal dev server on $(TEMPORAL_ADDRESS), UI on http://127.0.0.1:$(TEMPORAL_UI_PORT), state in $(DEV_DB)"
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/temporal server start-dev --ip 127.0.0.1 --port $(lastword $(subst :, ,$(TEMPORAL_ADDRESS))) \
		--ui-port $(TEMPORAL_UI_PORT) --db-filename $(DEV_DB) --log-level warn \
		--search-attribute CutoverPhase=Keyword & \
	until $(BIN)/temporal operator cluster health --address $(TEMPORAL_ADDRESS) >/dev/null 2>&1; do sleep 0.5; done; \
	echo ">> worker starting (Ctrl-C stops everything)"; \
	TEMPORAL_ADDRESS=$(TEMPORAL_ADDRESS) $(BIN)/cutover-worker & \
	wait

.PHONY: demo
demo: tools build ## Sandbox (Temporal + UI :8233, moto, kube-apiservers) + worker + a demo migration; Ctrl-C stops all
	$(BIN)/cutover demo --temporal-port $(lastword $(subst :, ,$(TEMPORAL_ADDRESS))) --ui-port $(TEMPORAL_UI_PORT)

##@ Quality

.PHONY: test
test: tools ## Run the whole test suite (unit, replay, integration against real servers)
	$(GO) vet ./...
	$(MAKE) --no-print-directory workflowcheck
	$(MAKE) --no-print-directory test-motoext
	$(GO) test -count=1 -timeout 40m ./...
	@echo ">> sandbox startup with the cached tools (target: under 30s):"
	@$(GO) test -count=1 -run '^TestSandboxUpDown$$' -v ./internal/sandbox/ | grep -E 'startup took|^(--- |ok|FAIL)'

.PHONY: test-motoext
test-motoext: pytest ## Run the sandbox EKS emulator's pytest suite (internal/sandbox/motoext/tests)
	$(VENV)/bin/python -B -m pytest -p no:cacheprovider -q internal/sandbox/motoext/tests

.PHONY: workflowcheck
workflowcheck: $(BIN)/workflowcheck ## Check workflow code for non-determinism
	$(BIN)/workflowcheck ./workflows/...

.PHONY: lint
lint: $(BIN)/workflowcheck ## gofmt, go vet and workflowcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck ./workflows/...

.PHONY: bench
bench: tools ## Run benchmarks and print their figures
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: clean
clean: ## Remove built binaries, the sandbox and the dev server state (keeps the tool cache)
	rm -f $(BIN)/cutover $(BIN)/cutover-worker
	rm -rf .sandbox .dev
