#!/usr/bin/env bash
# Builds every artifact a release publishes, as the release workflow
# (.github/workflows/release.yml) builds them, and fails if any of them
# carries a version other than provider/VERSION:
#   plugins/   both plugins' archives and checksums (scripts/dist.sh)
#   npm/       the @ristio/ristio tarball            (npm publish)
#   python/    the pulumi_ristio wheel and sdist      (PyPI)
#   java/      the com.ristio:ristio jars and pom     (Maven Central), when sdk/java exists
#   go         the Go SDK module, published by the tag sdk/v<version>
# Usage: scripts/release-check.sh [OUT]   (default OUT: dist/release)
# RISTIO_RELEASE_PLATFORMS (os/arch ..., default all six) limits the archives.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(cat "$root/provider/VERSION")"
out="${1:-$root/dist/release}"
rm -rf "$out" && mkdir -p "$out" && out="$(cd "$out" && pwd)"
cache="${RISTIO_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ristio/sdk-check}"

log() { printf '[release-check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { log "$*" >&2; exit 1; }
# same <what> <got>: the artifact's version must be provider/VERSION.
same() { [[ "$2" == "$version" ]] || fail "$1 is version '$2', provider/VERSION is $version"; log "$1: $2"; }

# shellcheck disable=SC2086
"$root/scripts/dist.sh" "$out/plugins" ${RISTIO_RELEASE_PLATFORMS:-}
for f in "$out"/plugins/*.tar.gz; do
  name="$(basename "$f")"
  v="${name#pulumi-*-*-v}"
  same "$name" "${v%%-*}"
done

# npm and Python: the SDKs built as their users get them (sdk-check), then
# the package files a registry takes.
"$root/scripts/sdk-check.sh" nodejs python
mkdir -p "$out/npm"
cp "$cache"/nodejs/*.tgz "$out/npm/"
tgz="$(ls "$out"/npm/*.tgz)"
same "$(basename "$tgz")" "$(tar -xzOf "$tgz" package/package.json | node -pe 'JSON.parse(require("fs").readFileSync(0)).version')"
same "$(basename "$tgz") pulumi.version" "$(tar -xzOf "$tgz" package/package.json | node -pe 'JSON.parse(require("fs").readFileSync(0)).pulumi.version')"

py="$cache/python/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check build
rm -rf "$cache/python/release" && cp -R "$root/sdk/python" "$cache/python/release"
# python -m build: the sdist, then the wheel from it, as PyPI gets them.
"$py" -m build --outdir "$out/python" "$cache/python/release" >"$out/python-build.log" 2>&1 ||
  { cat "$out/python-build.log" >&2; fail "building the Python packages failed"; }
for f in "$out"/python/*.whl "$out"/python/*.tar.gz; do
  name="$(basename "$f")"
  v="${name#pulumi_ristio-}"
  v="${v%.tar.gz}"
  same "$name" "${v%%-*}"
done
same "wheel's pulumi-plugin.json" "$("$py" - "$out"/python/*.whl <<'PY'
import json, sys, zipfile
print(json.loads(zipfile.ZipFile(sys.argv[1]).read("pulumi_ristio/pulumi-plugin.json"))["version"])
PY
)"

if [[ -f "$root/sdk/java/pom.xml" ]]; then
  mkdir -p "$out/java"
  rm -rf "$cache/java/release" && mkdir -p "$cache/java" && cp -R "$root/sdk/java" "$cache/java/release"
  # The release profile the workflow deploys with (sources and javadoc jars
  # too), unsigned: the signing key exists only in the workflow.
  (cd "$cache/java/release" && MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true" \
    mvn -q -B --no-transfer-progress -DskipTests -P release -Dgpg.skip package)
  jar="$(ls "$cache"/java/release/target/ristio-*.jar | grep -v -e sources -e javadoc | head -1)"
  cp "$cache"/java/release/target/ristio-*.jar "$root/sdk/java/pom.xml" "$out/java/"
  v="$(basename "$jar" .jar)"
  same "$(basename "$jar")" "${v#ristio-}"
fi

# Go: the module the tag sdk/v<version> publishes; `go get
# github.com/ristio/pulumi-ristio/sdk@v<version>` resolves that tag.
module="$(cd "$root/sdk" && go list -m)"
[[ "$module" == github.com/ristio/pulumi-ristio/sdk ]] || fail "sdk/go.mod is module $module, not github.com/ristio/pulumi-ristio/sdk"
(cd "$root/sdk" && go build ./...)
same "Go SDK's pulumi-plugin.json" "$(node -pe 'require(process.argv[1]).version' "$root/sdk/go/ristio/pulumi-plugin.json")"
echo "sdk/v$version" >"$out/go-tag"
log "go: module $module, tag sdk/v$version"
log "every artifact is version $version, in $out"
