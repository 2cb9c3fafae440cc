#!/usr/bin/env bash
# Builds the pinned tools (pulumi, pulumi-language-yaml, pulumi-language-java,
# etcd, kube-apiserver, kube-controller-manager, pilot-discovery, istioctl,
# golangci-lint) into a cache keyed by tool and version, and links them into
# .tools/bin. A tool already in the cache is not rebuilt.
#
# Usage: tools/build.sh [all|pulumi|pulumi-language-yaml|pulumi-language-java|etcd|kube-apiserver|kube-controller-manager|pilot-discovery|istioctl|golangci-lint]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${RISTIO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ristio/tools}"
bin="$root/.tools/bin"
mkdir -p "$bin" "$cache"

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "$*" >&2; exit 1; }

which="${1:-all}"
case "$which" in
  all|pulumi|pulumi-language-yaml|pulumi-language-java|etcd|kube-apiserver|kube-controller-manager|pilot-discovery|istioctl|golangci-lint) ;;
  *) die "unknown tool '$which'" ;;
esac

# Two checkouts (or engineers) running this at once would build into the same
# directory: the second one waits and then finds the tools cached.
exec 9>"$cache/.lock"
flock 9

# pinned <module dir> <module> <version>: the cache is keyed by the version in
# versions.env, so the tool module must really require that version.
pinned() {
  local got
  got="$(awk -v m="$2" '$1 == m { print $2 }' "$here/$1/go.mod")"
  [[ "$got" == "$3" ]] || die "tools/$1/go.mod requires $2 $got but versions.env says $3"
}

# build <tool> <version> <command...>: runs the command with $out set to the
# cache directory, unless that directory already holds the tool.
build() {
  local tool="$1" version="$2"; shift 2
  local out="$cache/$tool/$version"
  if [[ -x "$out/$tool" ]]; then
    log "$tool $version: cached"
  else
    log "$tool $version: building"
    local start=$SECONDS
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    out="$out.tmp" "$@"
    rm -rf "$cache/$tool/$version" && mv "$cache/$tool/$version.tmp" "$cache/$tool/$version"
    log "$tool $version: built in $((SECONDS - start))s"
  fi
  ln -sf "$cache/$tool/$version/$tool" "$bin/$tool"
}

build_pulumi() {
  pinned pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
  (cd "$here/pulumi" && go build -trimpath -o "$out/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}
# pulumi-yaml is built from its own go.mod (go install module@version), checked
# against the Go checksum database.
build_language_yaml() {
  (cd "$here/pulumi" && GOBIN="$out" GOFLAGS=-mod=mod go install -trimpath \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$PULUMI_YAML_VERSION")
}
# pulumi-language-java from tools/java, which requires the pulumi-java module
# (pulumi-java's replace directives rule out go install module@version).
build_language_java() {
  pinned java github.com/pulumi/pulumi-java "$PULUMI_JAVA_VERSION"
  (cd "$here/java" && go build -trimpath -o "$out/pulumi-language-java" \
    github.com/pulumi/pulumi-java/pkg/cmd/pulumi-language-java)
}
build_etcd() {
  pinned etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  (cd "$here/etcd" && go build -trimpath -o "$out/etcd" go.etcd.io/etcd/server/v3)
}
build_kube() {
  local cmd="$1"
  pinned kube k8s.io/kubernetes "$KUBERNETES_VERSION"
  (cd "$here/kube" && go build -trimpath -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd")
}
# Istio's istiod, from the istio.io/istio module the test charts come from.
# Some of Istio's dependencies are missing from the Go checksum database, so
# this module alone is built with GOSUMDB=off; its go.sum still pins every
# hash it was tidied with.
build_pilot() {
  pinned istio istio.io/istio "$ISTIO_CHARTS_MODULE_VERSION"
  (cd "$here/istio" && GOSUMDB=off go build -trimpath -o "$out/pilot-discovery" \
    istio.io/istio/pilot/cmd/pilot-discovery)
}
# istioctl from the same module: the migration test builds a mesh the
# ristioctl way with it (istioctl install, istioctl create-remote-secret).
build_istioctl() {
  pinned istio istio.io/istio "$ISTIO_CHARTS_MODULE_VERSION"
  (cd "$here/istio" && GOSUMDB=off go build -trimpath -o "$out/istioctl" \
    istio.io/istio/istioctl/cmd/istioctl)
}

build_lint() {
  pinned lint github.com/golangci/golangci-lint/v2 "$GOLANGCI_LINT_VERSION"
  (cd "$here/lint" && go build -trimpath -o "$out/golangci-lint" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
}

case "$which" in
  all|pulumi) build pulumi "$PULUMI_VERSION" build_pulumi ;;&
  all|pulumi-language-yaml) build pulumi-language-yaml "$PULUMI_YAML_VERSION" build_language_yaml ;;&
  all|pulumi-language-java) build pulumi-language-java "$PULUMI_JAVA_VERSION" build_language_java ;;&
  all|etcd) build etcd "$ETCD_VERSION" build_etcd ;;&
  all|kube-apiserver) build kube-apiserver "$KUBERNETES_VERSION" build_kube kube-apiserver ;;&
  all|kube-controller-manager) build kube-controller-manager "$KUBERNETES_VERSION" build_kube kube-controller-manager ;;&
  all|pilot-discovery) build pilot-discovery "$ISTIO_CHARTS_MODULE_VERSION" build_pilot ;;&
  all|istioctl) build istioctl "$ISTIO_CHARTS_MODULE_VERSION" build_istioctl ;;&
  all|golangci-lint) build golangci-lint "$GOLANGCI_LINT_VERSION" build_lint ;;&
  *) ;;
esac
# The YAML and Java language hosts next to the CLI, where a Pulumi install
# bundles them: with PULUMI_IGNORE_AMBIENT_PLUGINS the engine finds them there,
# and plugins from its plugin cache, instead of warning about each one found on
# PATH.
for host in "pulumi-language-yaml:$PULUMI_YAML_VERSION" "pulumi-language-java:$PULUMI_JAVA_VERSION"; do
  name="${host%%:*}" version="${host#*:}"
  if [[ -x "$cache/pulumi/$PULUMI_VERSION/pulumi" && -x "$cache/$name/$version/$name" ]]; then
    ln -sf "$cache/$name/$version/$name" "$cache/pulumi/$PULUMI_VERSION/$name"
  fi
done
log "tools ready in $bin"
