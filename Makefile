# ristio: build, test and local clusters. Tool versions live in tools/versions.env.
SHELL := bash

# The one version source: the plugin embeds provider/VERSION, and the schema and
# SDKs are stamped with it, so they always ask for the plugin `make build` makes.
VERSION := $(shell cat provider/VERSION)
N ?= 2
DIR ?= $(CURDIR)/.demo
TEST_TIMEOUT ?= 60m

.PHONY: tools build dist install release-check lint test test-unit bench clusters demo-down clean

# Pinned etcd, kube-apiserver, kube-controller-manager and pulumi, built once
# into ~/.cache/ristio/tools and linked into .tools/bin.
tools:
	tools/build.sh

# The provider plugin and the `pulumi convert --from ristioctl` converter plugin.
build:
	go build -o bin/pulumi-resource-ristio ./cmd/pulumi-resource-ristio
	go build -o bin/pulumi-converter-ristioctl ./cmd/pulumi-converter-ristioctl

# Release archives of the provider and the converter for linux, darwin and
# windows on amd64 and arm64, plus checksums, in dist/ (what the release
# workflow publishes for a tag).
dist:
	scripts/dist.sh dist

# Installs this machine's archives of both plugins into the Pulumi plugin
# cache, where the engine finds them without putting them on PATH. It needs
# a pulumi CLI (this tree's .tools/bin/pulumi if `make tools` made one, else
# the one on PATH) and builds nothing else.
install:
	scripts/dist.sh dist $$(go env GOOS)/$$(go env GOARCH)
	$(or $(wildcard .tools/bin/pulumi),pulumi) plugin install resource ristio $(VERSION) \
		-f dist/pulumi-resource-ristio-v$(VERSION)-$$(go env GOOS)-$$(go env GOARCH).tar.gz --reinstall
	$(or $(wildcard .tools/bin/pulumi),pulumi) plugin install converter ristioctl $(VERSION) \
		-f dist/pulumi-converter-ristioctl-v$(VERSION)-$$(go env GOOS)-$$(go env GOARCH).tar.gz --reinstall

# Every artifact a tagged release publishes (.github/workflows/release.yml),
# in dist/release, failing if one carries another version than
# provider/VERSION: both plugins' archives, the npm tarball, the Python wheel
# and sdist, the Java jar and the Go SDK module at its tag.
release-check:
	scripts/release-check.sh dist/release

# -count=1: the e2e tests build the plugin in a subprocess, which Go's test
# cache cannot see, so a cached pass could hide a provider change.
test: tools lint check-generated sdk-check
	go test -count=1 -timeout $(TEST_TIMEOUT) ./...

# golangci-lint with .golangci.yml, go.mod/go.sum as `go mod tidy` leaves
# them, and no tracked file over 1 MiB or executable without being a script.
lint: tools
	.tools/bin/golangci-lint run ./...
	go mod tidy -diff
	scripts/check-tracked.sh

# Scale benchmarks (not part of make test): BenchmarkMeshUp and
# BenchmarkMeshPreview for meshes of BENCH_CLUSTERS clusters, and
# BenchmarkMeshAddCluster adding one to meshes of BENCH_ADD, each with the
# provider's CPU and peak RSS. BENCH_LEAN=1 (the default) runs lean clusters
# (localcluster.Options.Lean); BENCH_SECRETS sets remoteSecrets.
BENCH_CLUSTERS ?= 1,2,4,8,16
BENCH_ADD ?= 8,16
BENCH_LEAN ?= 1
BENCH_SECRETS ?= perPair
# BenchmarkMeshTokenRenewal: an up that rewrites every remote secret of a
# mesh of BENCH_RENEW clusters, with and without istiod's restart.
BENCH_RENEW ?= 3
BENCH ?= Mesh(Up|Preview|AddCluster|TokenRenewal)
bench: tools
	RISTIO_BENCH_CLUSTERS=$(BENCH_CLUSTERS) RISTIO_BENCH_ADD=$(BENCH_ADD) RISTIO_BENCH_RENEW=$(BENCH_RENEW) RISTIO_BENCH_LEAN=$(BENCH_LEAN) RISTIO_BENCH_SECRETS=$(BENCH_SECRETS) \
		go test -run x -bench '$(BENCH)$$' -benchtime 1x -timeout 180m ./test/e2e/

# Everything that needs no local cluster and no tools, for the edit-test loop:
# -short skips the tests that start clusters or run the Pulumi CLI. `make
# test` runs them all.
test-unit:
	go test -short ./...

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
	rm -rf bin dist .tools

# ---- Schema, SDKs, examples and the demo --------------------------------

.PHONY: schema sdks check-generated sdk-check demo demo-destroy

schema: sdks

# schema.json and sdk/{nodejs,python,go,java} from the provider itself, then the Go
# SDK module's go.mod and go.sum.
sdks:
	go run ./cmd/ristio-sdkgen -version $(VERSION) -out .
	cd sdk && go mod tidy

# Fails when the committed schema or SDKs (HEAD, not the index) differ from
# what `make sdks` writes.
check-generated: sdks
	@git diff --exit-code --stat HEAD -- schema.json sdk/ || \
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
demo: tools
	@if [[ -f $(DIR)/pid ]] && kill -0 "$$(cat $(DIR)/pid)" 2>/dev/null; then \
		echo "clusters already running (pid $$(cat $(DIR)/pid))"; else $(MAKE) --no-print-directory clusters; fi
	DIR=$(DIR) scripts/demo.sh up

# Destroys the demo stack, if there is one (demo-down runs it first).
demo-destroy:
	@if [[ -d $(DIR)/yaml ]]; then $(MAKE) --no-print-directory build && DIR=$(DIR) scripts/demo.sh destroy; fi
