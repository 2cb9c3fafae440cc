#!/usr/bin/env bash
# Builds each generated SDK as its users will, then type-checks the example of
# that language against it:
#   nodejs  npm install, tsc, npm pack; examples/ts compiled against the package
#   python  a venv with pulumi from PyPI and ./sdk/python; import pulumi_ristio
#           and load examples/python without running it
#   go      go build and go vet of sdk/ and examples/go, with tidy go.mod files
#   java    mvn install of sdk/java into the local Maven repository (~/.m2),
#           com.pulumi:pulumi from Maven Central; examples/java compiled
#           against the installed jar
# Usage: scripts/sdk-check.sh [nodejs|python|go|java]...   (no argument: all four)
#
# The work happens in $RISTIO_SDK_CACHE (default ~/.cache/ristio/sdk-check),
# never in the tree, and node_modules and the venv are kept there between runs.
# test/examples uses what this leaves behind:
#   $RISTIO_SDK_CACHE/nodejs/example   examples/ts compiled, with node_modules
#   $RISTIO_SDK_CACHE/python/venv      python with pulumi and pulumi_ristio
#   $RISTIO_SDK_CACHE/java/sdk/target  the jar, as installed in ~/.m2
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tools/versions.env
source "$root/tools/versions.env"
cache="${RISTIO_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ristio/sdk-check}"
npm_flags=(--no-audit --no-fund --loglevel=error)

log() { printf '[sdk-check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# fresh_copy <src> <dst>: dst holds exactly src's files, except the kept
# node_modules (so npm only adds what changed).
fresh_copy() {
  local src="$1" dst="$2"
  mkdir -p "$dst"
  find "$dst" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  cp -R "$src/." "$dst/"
}

check_nodejs() {
  local work="$cache/nodejs"
  log "nodejs: @pulumi/pulumi $PULUMI_NODEJS_SDK_VERSION, typescript $TYPESCRIPT_VERSION, node $(node --version)"
  # The SDK, built and packed as it would be published: package.json goes
  # into bin/ and bin/ is the package.
  fresh_copy "$root/sdk/nodejs" "$work/sdk"
  (
    cd "$work/sdk"
    npm pkg set "dependencies.@pulumi/pulumi=$PULUMI_NODEJS_SDK_VERSION"
    npm install "${npm_flags[@]}"
    npx tsc
    cp "$root/sdk/nodejs/package.json" "$root/sdk/nodejs/README.md" bin/
    rm -f "$work"/*.tgz
    npm pack ./bin --pack-destination "$work" --loglevel=error >/dev/null
  )
  local tarball
  tarball="$(ls "$work"/*.tgz)"
  log "nodejs: packed $(basename "$tarball")"
  # The example, with the packed SDK in place of the published one.
  fresh_copy "$root/examples/ts" "$work/example"
  (
    cd "$work/example"
    rm -rf bin package-lock.json node_modules/@ristio
    npm pkg set "dependencies.@pulumi/pulumi=$PULUMI_NODEJS_SDK_VERSION" \
      "devDependencies.typescript=$TYPESCRIPT_VERSION"
    npm install "${npm_flags[@]}" "$tarball"
    npx tsc
  )
  log "nodejs: examples/ts compiled"
}

check_python() {
  local work="$cache/python"
  local py="$work/venv/bin/python"
  log "python: pulumi $PULUMI_PYTHON_SDK_VERSION, $(python3 --version)"
  [[ -x "$py" ]] || python3 -m venv "$work/venv"
  "$py" -m pip install -q --disable-pip-version-check "pulumi==$PULUMI_PYTHON_SDK_VERSION"
  # Installed from a copy, so the build leaves nothing in the tree.
  fresh_copy "$root/sdk/python" "$work/sdk"
  "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$work/sdk"
  "$py" -m pip check -q >/dev/null
  "$py" -c 'import pulumi_ristio; assert pulumi_ristio.MultiClusterMesh'
  "$py" - "$root/examples/python/__main__.py" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ristio_example", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)  # defines program() without running it
assert callable(module.program), "examples/python/__main__.py has no program()"
EOF
  log "python: pulumi_ristio imports, examples/python loads"
}

check_go() {
  log "go: $(go version)"
  local dir
  for dir in sdk examples/go; do
    (
      cd "$root/$dir"
      go mod tidy -diff
      go build ./...
      go vet ./...
    )
    log "go: $dir builds"
  done
}

check_java() {
  local work="$cache/java"
  local mvn=(mvn -B -q --no-transfer-progress)
  # Maven's console library ends every run with a terminal reset; not here.
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Djansi.noreset=true"
  local pulumi
  pulumi="$(grep -A1 '<artifactId>pulumi</artifactId>' "$root/sdk/java/pom.xml" | sed -n 's:.*<version>\(.*\)</version>.*:\1:p')"
  log "java: com.pulumi:pulumi $pulumi, $(mvn -v -Dstyle.color=never | head -1), $(java -version 2>&1 | head -1)"
  fresh_copy "$root/sdk/java" "$work/sdk"
  (cd "$work/sdk" && "${mvn[@]}" install)
  local jar
  jar="$(ls "$work"/sdk/target/*.jar)"
  log "java: installed $(basename "$jar") ($(stat -c %s "$jar") bytes)"
  fresh_copy "$root/examples/java" "$work/example"
  (cd "$work/example" && "${mvn[@]}" compile)
  log "java: examples/java compiled"
}

langs=("$@")
[[ ${#langs[@]} -gt 0 ]] || langs=(nodejs python go java)
for lang in "${langs[@]}"; do
  start=$SECONDS
  case "$lang" in
    nodejs) check_nodejs ;;
    python) check_python ;;
    go) check_go ;;
    java) check_java ;;
    *) echo "sdk-check: unknown language $lang (nodejs, python, go or java)" >&2; exit 2 ;;
  esac
  log "$lang: ok in $((SECONDS - start))s"
done
