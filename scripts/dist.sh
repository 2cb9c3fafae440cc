#!/usr/bin/env bash
# Release archives of both plugins, in the layout the Pulumi engine downloads
# from pluginDownloadURL and `pulumi plugin install` takes with -f:
#   pulumi-resource-ristio-v<version>-<os>-<arch>.tar.gz      the provider
#   pulumi-converter-ristioctl-v<version>-<os>-<arch>.tar.gz  the converter
#   pulumi-<kind>-<name>_<version>_checksums.txt              (sha256sum format)
# each archive with its binary at the top.
# Usage: scripts/dist.sh [OUT] [os/arch ...]; default OUT is dist/ and the
# platforms are linux, darwin and windows on amd64 and arm64. Archives are
# static (CGO_ENABLED=0) unless RISTIO_DIST_CGO_ENABLED says otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(cat "$root/provider/VERSION")"
out="${1:-$root/dist}"
shift || true
platforms=("$@")
if [[ ${#platforms[@]} -eq 0 ]]; then
  platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# archive <plugin> <package>: one archive per platform and their checksums.
archive() {
  local plugin="$1" pkg="$2"
  local checksums="$out/${plugin}_${version}_checksums.txt"
  : >"$checksums"
  for p in "${platforms[@]}"; do
    local os="${p%/*}" arch="${p#*/}" bin="$plugin" stage
    [[ "$os" == windows ]] && bin+=.exe
    stage="$(mktemp -d)"
    echo "dist: $plugin $os/$arch"
    (cd "$root" && CGO_ENABLED="${RISTIO_DIST_CGO_ENABLED:-0}" GOOS="$os" GOARCH="$arch" go build -ldflags "-s -w" -o "$stage/$bin" "$pkg")
    local name="${plugin}-v${version}-${os}-${arch}.tar.gz"
    tar -czf "$out/$name" -C "$stage" "$bin"
    rm -rf "$stage"
    (cd "$out" && sha256sum "$name" >>"$checksums")
  done
}
archive pulumi-resource-ristio ./cmd/pulumi-resource-ristio
archive pulumi-converter-ristioctl ./cmd/pulumi-converter-ristioctl
echo "dist: archives and checksums in $out"
