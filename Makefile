# VibeCode. `make run` starts the whole platform locally on embedded defaults; `make test`
# installs what the tests need (as root on Debian 12) and runs every test.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0

.PHONY: run test deps lint bench build web web-test build-lambdas build-ApiFunction build-SearchFunction build-IngestFunction build-AiFunction build-AiStreamFunction build-LifecycleFunction clean

## run: the local stack on 127.0.0.1:8080 (PORT, HOST, VIBECODE_DATA_DIR override), web IDE at /
run: web
	$(GO) run ./infra

## test: install test dependencies, check formatting and vet, run every test
test: deps lint
	VIBECODE_TEST_SERVERS=require $(GO) test -count=1 -timeout 25m ./...
	$(MAKE) web-test

# The web IDE (web/): npm ci when the lockfile changes, vite build into web/dist when a source
# changes; package web embeds web/dist, so the Go binary serves what was built last.
WEB_SRC := $(shell find web/src web/index.html web/public web/vite.config.ts web/tsconfig.json web/package.json -type f 2>/dev/null)
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

## web: build the web IDE into web/dist (embedded by the Go binary)
web: web/dist/index.html

## web-test: the web IDE's unit tests (Vitest), then its end-to-end tests (headless Chromium
## driving the real local stack, built from ./infra by the test)
web-test: web
	cd web && npm test
	cd web && npm run e2e

## deps: system packages the tests need (PostgreSQL 15 + pgvector, redis-server, Chromium)
deps:
	bash .ci/install-deps.sh

## lint: gofmt, go vet, staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags lambda.norpc ./functions/... ./shared/host/... ./shared/backend/...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: Go benchmarks on every backend (see docs/benchmarks.md)
bench: deps
	VIBECODE_TEST_SERVERS=require $(GO) test -run '^$$' -bench . -benchmem -timeout 90m ./...

## build: the local stack (bin/vibecode) and the static workspace agent (bin/workspace-agent)
build:
	$(GO) build -o bin/vibecode ./infra
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/workspace-agent ./workspace-vm

## build-lambdas: every function as an arm64 Lambda bootstrap in bin/lambda/<Function>/
build-lambdas:
	for f in ApiFunction SearchFunction IngestFunction AiFunction AiStreamFunction LifecycleFunction; do $(MAKE) build-$$f ARTIFACTS_DIR=bin/lambda/$$f || exit 1; done

# SAM (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
build-ApiFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-SearchFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/search
build-AiFunction build-AiStreamFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ai
# The ingest consumer is built without cgo like the others, so its chunker falls back from
# tree-sitter to line-based chunks for non-Go languages (Go keeps go/ast); see shared/chunk.
build-IngestFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest
# The lifecycle function: HTTP routes and the EventBridge sweeper schedule in one binary.
build-LifecycleFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/lifecycle

clean:
	rm -rf bin
