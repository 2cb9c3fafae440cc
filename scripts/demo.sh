#!/usr/bin/env bash
# The demo stack: examples/yaml on the clusters `make clusters` started.
#   scripts/demo.sh up       charts, stack config, `pulumi up`, then the addresses
#   scripts/demo.sh destroy  `pulumi destroy` and `pulumi stack rm`, if there is a stack
# Everything lives in $DIR (default .demo): the kubeconfig the clusters wrote,
# charts/ (Istio's charts from the pinned istio.io/istio module: no network
# needed but the Go module proxy, once), yaml/ (a copy of examples/yaml with
# the stack's config), state/ (file backend) and pulumi-home/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tools/versions.env
source "$root/tools/versions.env"
DIR="${DIR:-$root/.demo}"
STACK=demo

export PATH="$root/.tools/bin:$PATH"
export PULUMI_HOME="$DIR/pulumi-home"
export PULUMI_BACKEND_URL="file://$DIR/state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-ristio-demo}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
# Plugins come from PULUMI_HOME (ristio, installed from its archive) and from
# next to the CLI (the YAML host, as a Pulumi install bundles it), not PATH.
export PULUMI_IGNORE_AMBIENT_PLUGINS=true

log() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# charts copies base, istiod and gateway out of the istio.io/istio module.
charts() {
  local out="$DIR/charts"
  [[ -f "$out/gateway/Chart.yaml" ]] && return
  log "fetching Istio's charts (istio.io/istio $ISTIO_CHARTS_MODULE_VERSION) through the Go module proxy"
  local tmp mod
  tmp="$(mktemp -d)"
  mod="$(cd "$tmp" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "istio.io/istio@$ISTIO_CHARTS_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$tmp"
  [[ -d "$mod" ]] || { echo "demo: could not download istio.io/istio@$ISTIO_CHARTS_MODULE_VERSION" >&2; exit 1; }
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  cp -R "$mod/manifests/charts/base" "$out.tmp/base"
  cp -R "$mod/manifests/charts/istio-control/istio-discovery" "$out.tmp/istiod"
  cp -R "$mod/manifests/charts/gateway" "$out.tmp/gateway"
  chmod -R u+w "$out.tmp"
  mv "$out.tmp" "$out"
}

# plugin installs this tree's plugin into the demo's PULUMI_HOME from the
# archive `make dist` would make, as a user installs a release: the engine
# then finds it without a plugin on PATH.
plugin() {
  local version host archive
  version="$(cat "$root/provider/VERSION")"
  host="$(go env GOOS)/$(go env GOARCH)"
  archive="$DIR/dist/pulumi-resource-ristio-v$version-${host/\//-}.tar.gz"
  log "installing the plugin (ristio $version, $host) into $PULUMI_HOME"
  RISTIO_DIST_CGO_ENABLED="$(go env CGO_ENABLED)" "$root/scripts/dist.sh" "$DIR/dist" "$host" >/dev/null
  pulumi plugin install resource ristio "$version" -f "$archive" --reinstall >/dev/null
}

up() {
  [[ -f "$DIR/ready" ]] || { echo "demo: no clusters in $DIR: run make clusters first" >&2; exit 1; }
  charts
  plugin
  mkdir -p "$DIR/state" "$DIR/yaml"
  cp "$root/examples/yaml/Pulumi.yaml" "$DIR/yaml/"
  cd "$DIR/yaml"
  pulumi stack select --create "$STACK" >/dev/null
  pulumi config set kubeconfigPath "$DIR/kubeconfig"
  pulumi config set chartDirectory "$DIR/charts"
  log "pulumi up (examples/yaml, stack $STACK)"
  local start=$SECONDS
  pulumi up --yes --skip-preview
  log "up in $((SECONDS - start))s"
  echo
  echo "East-west gateway addresses:"
  pulumi stack output gatewayAddresses --json
  echo
  echo "The clusters: KUBECONFIG=$DIR/kubeconfig (contexts cluster1, cluster2)"
  echo "The stack:    cd $DIR/yaml && PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE=... pulumi stack"
  echo "Tear down:    make demo-down"
}

destroy() {
  if [[ ! -d "$DIR/yaml" ]] || ! (cd "$DIR/yaml" && pulumi stack select "$STACK" >/dev/null 2>&1); then
    return
  fi
  cd "$DIR/yaml"
  if [[ -f "$DIR/ready" ]]; then
    log "pulumi destroy (stack $STACK)"
    pulumi destroy --yes --skip-preview
    pulumi stack rm --yes "$STACK"
  else
    # Without clusters there is nothing to delete objects from.
    log "clusters are not running: dropping stack $STACK without destroying"
    pulumi stack rm --yes --force "$STACK"
  fi
}

case "${1:-}" in
  up) up ;;
  destroy) destroy ;;
  *) echo "usage: $0 up|destroy" >&2; exit 2 ;;
esac
