#!/usr/bin/env bash
# Copies the Kubernetes Gateway API standard-channel CRDs that ristio installs
# into pkg/gatewayapi/crds (or into the folder given as $1). The version is
# the sigs.k8s.io/gateway-api that the pinned istio.io/istio
# (ISTIO_CHARTS_MODULE_VERSION in tools/versions.env) requires in its go.mod,
# so ristio installs the CRDs its istiod was built against. Both modules come
# from the Go module proxy. Only the CustomResourceDefinitions are copied:
# the standard channel's safe-upgrades ValidatingAdmissionPolicy is not.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/pkg/gatewayapi/crds}"
# shellcheck source=/dev/null
source "$root/tools/versions.env"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
download() { # module@version -> its folder in the module cache
  (cd "$tmp" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "$1") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

istio="$(download "istio.io/istio@$ISTIO_CHARTS_MODULE_VERSION")"
version="$(awk '$1 == "sigs.k8s.io/gateway-api" { print $2; exit }' "$istio/go.mod")"
[[ -n "$version" ]] || { echo "istio.io/istio@$ISTIO_CHARTS_MODULE_VERSION requires no sigs.k8s.io/gateway-api" >&2; exit 1; }
gwapi="$(download "sigs.k8s.io/gateway-api@$version")"

mkdir -p "$out"
rm -f "$out"/*.yaml
for f in "$gwapi"/config/crd/standard/*.yaml; do
  grep -q '^kind: CustomResourceDefinition$' "$f" || continue
  install -m 0644 "$f" "$out/$(basename "$f")"
done
echo "gateway-api $version standard CRDs -> $out" >&2
