#!/usr/bin/env bash
# Release archives of the plugin, in the layout the Pulumi engine downloads
# from pluginDownloadURL:
#   pulumi-resource-ristio-v<version>-<os>-<arch>.tar.gz   (the binary at the top)
#   pulumi-resource-ristio_<version>_checksums.txt          (sha256sum format)
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
checksums="$out/pulumi-resource-ristio_${version}_checksums.txt"
: >"$checksums"
for p in "${platforms[@]}"; do
  os="${p%/*}" arch="${p#*/}"
  bin=pulumi-resource-ristio
  [[ "$os" == windows ]] && bin+=.exe
  stage="$(mktemp -d)"
  echo "dist: $os/$arch"
  (cd "$root" && CGO_ENABLED="${RISTIO_DIST_CGO_ENABLED:-0}" GOOS="$os" GOARCH="$arch" go build -ldflags "-s -w" -o "$stage/$bin" ./cmd/pulumi-resource-ristio)
  archive="pulumi-resource-ristio-v${version}-${os}-${arch}.tar.gz"
  tar -czf "$out/$archive" -C "$stage" "$bin"
  rm -rf "$stage"
  (cd "$out" && sha256sum "$archive" >>"$checksums")
done
echo "dist: archives and $(basename "$checksums") in $out"
