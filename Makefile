# ristio: build, test and local clusters. Tool versions live in tools/versions.env.
SHELL := bash

VERSION ?= $(or $(shell git describe --tags --match 'v*' 2>/dev/null | sed 's/^v//'),0.1.0-dev)
N ?= 2
DIR ?= $(CURDIR)/.demo
TEST_TIMEOUT ?= 60m

.PHONY: tools build test clusters demo-down clean

# Pinned etcd, kube-apiserver, kube-controller-manager and pulumi, built once
# into ~/.cache/ristio/tools and linked into .tools/bin.
tools:
	tools/build.sh

build:
	go build -ldflags "-X github.com/ristio/pulumi-ristio/provider.Version=$(VERSION)" \
		-o bin/pulumi-resource-ristio ./cmd/pulumi-resource-ristio

# -count=1: the e2e tests build the plugin in a subprocess, which Go's test
# cache cannot see, so a cached pass could hide a provider change.
test: tools check-generated sdk-check
	go test -count=1 -timeout $(TEST_TIMEOUT) ./...

# N local clusters with the kubelet and load-balancer emulators, in the
# background until `make demo-down`.
clusters: tools
	@if [[ -f $(DIR)/pid ]] && kill -0 "$$(cat $(DIR)/pid)" 2>/dev/null; then \
		echo "clusters already running (pid $$(cat $(DIR)/pid)); run make demo-down first" >&2; exit 1; fi
	@mkdir -p $(DIR) && rm -f $(DIR)/ready $(DIR)/pid
	go build -o $(DIR)/localclusters ./internal/cmd/localclusters
	@nohup $(DIR)/localclusters -n $(N) -dir $(DIR) >$(DIR)/clusters.log 2>&1 & pid=$$!; \
	for _ in $$(seq 600); do \
		if [[ -f $(DIR)/ready ]]; then echo "KUBECONFIG=$(DIR)/kubeconfig"; exit 0; fi; \
		kill -0 $$pid 2>/dev/null || break; \
		sleep 0.5; \
	done; \
	kill $$pid 2>/dev/null; \
	echo "clusters did not start; end of $(DIR)/clusters.log:" >&2; tail -20 $(DIR)/clusters.log >&2; exit 1

# Stops the clusters (the process kills its control planes) and removes DIR.
demo-down: demo-destroy
	@if [[ -f $(DIR)/pid ]]; then \
		pid=$$(cat $(DIR)/pid); kill $$pid 2>/dev/null || true; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; fi
	rm -rf $(DIR)

clean:
	rm -rf bin .tools

# ---- Schema, SDKs, examples and the demo --------------------------------
# The version stamped into schema.json and the SDKs (and so the plugin version
# the SDKs ask for). Fixed, so that check-generated is stable; bump it here
# when releasing.
SDK_VERSION ?= 0.1.0

.PHONY: schema sdks check-generated sdk-check demo demo-destroy

schema: sdks

# schema.json and sdk/{nodejs,python,go} from the provider itself, then the Go
# SDK module's go.mod and go.sum.
sdks:
	go run ./cmd/ristio-sdkgen -version $(SDK_VERSION) -out .
	cd sdk && go mod tidy

# Fails when the committed schema or SDKs differ from what `make sdks` writes.
check-generated: sdks
	@git diff --exit-code --stat -- schema.json sdk/ || \
		{ echo "schema.json or sdk/ is out of date: run make sdks and commit the result" >&2; exit 1; }
	@untracked="$$(git ls-files --others --exclude-standard -- schema.json sdk/)"; \
	if [[ -n "$$untracked" ]]; then \
		echo "generated files not committed (run make sdks and commit them):" >&2; echo "$$untracked" >&2; exit 1; fi

# Builds each SDK as its users will and type-checks the examples against it.
sdk-check:
	scripts/sdk-check.sh

# examples/yaml on two local clusters: builds the tools and the plugin, starts
# the clusters unless they run, then `pulumi up` (state in $(DIR)/state).
# The clusters stay up; `make demo-down` destroys the stack and stops them.
demo: tools build
	@if [[ -f $(DIR)/pid ]] && kill -0 "$$(cat $(DIR)/pid)" 2>/dev/null; then \
		echo "clusters already running (pid $$(cat $(DIR)/pid))"; else $(MAKE) --no-print-directory clusters; fi
	DIR=$(DIR) scripts/demo.sh up

# Destroys the demo stack, if there is one (demo-down runs it first).
demo-destroy:
	@if [[ -d $(DIR)/yaml ]]; then $(MAKE) --no-print-directory build && DIR=$(DIR) scripts/demo.sh destroy; fi
