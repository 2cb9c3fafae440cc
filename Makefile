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

test: tools
	go test -timeout $(TEST_TIMEOUT) ./...

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
demo-down:
	@if [[ -f $(DIR)/pid ]]; then \
		pid=$$(cat $(DIR)/pid); kill $$pid 2>/dev/null || true; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; fi
	rm -rf $(DIR)

clean:
	rm -rf bin .tools
