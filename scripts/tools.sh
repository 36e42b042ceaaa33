#!/usr/bin/env bash
# Builds the real tools the test suites and the local world run, from Go modules, once per
# machine. Idempotent: a tool whose binary and recipe stamp are present is reused.
#
#   scripts/tools.sh [GROUP...]     groups: kube (helm, kine, kube-apiserver), engine (the
#                                   pulumi CLI); default: kube engine
#   scripts/tools.sh --print-bin    prints the bin directory and exits
#
# Binaries go to ${DRAGONFLY_CCE_TOOLS:-$HOME/.cache/dragonfly-cce/tools}/bin; nothing is written
# into the repository. The pinned versions and why are in docs/decisions.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tools_dir=${DRAGONFLY_CCE_TOOLS:-$HOME/.cache/dragonfly-cce/tools}
bin="$tools_dir/bin"
stamps="$tools_dir/stamps"
logs="$tools_dir/logs"

readonly HELM_VERSION=v3.22.0
readonly KUBERNETES_VERSION=v1.33.13
readonly KINE_VERSION=v0.17.5
readonly PULUMI_VERSION=v3.276.0

if [[ ${1:-} == --print-bin ]]; then
  echo "$bin"
  exit 0
fi

# Go's own install location, for shells whose PATH lacks it.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || {
  echo "tools: no 'go' on PATH; the real tools are built from Go modules (Go 1.24 or newer)" >&2
  exit 1
}
mkdir -p "$bin" "$stamps" "$logs"
export GOFLAGS=-trimpath
export CGO_ENABLED=${CGO_ENABLED:-1}

summary=()

# build NAME RECIPE COMMAND...: runs COMMAND unless bin/NAME exists and its stamp equals RECIPE.
build() {
  local name=$1 recipe=$2
  shift 2
  if [[ -x "$bin/$name" && -f "$stamps/$name" && "$(cat "$stamps/$name")" == "$recipe" ]]; then
    summary+=("reused  $name ($recipe)")
    return 0
  fi
  echo "tools: building $name ($recipe); log: $logs/$name.log"
  local start=$SECONDS
  if ! "$@" >"$logs/$name.log" 2>&1; then
    tail -n 30 "$logs/$name.log" >&2
    echo "tools: building $name failed; full log: $logs/$name.log" >&2
    exit 1
  fi
  printf '%s' "$recipe" >"$stamps/$name"
  summary+=("built   $name ($recipe) in $((SECONDS - start)) s")
}

build_helm() {
  GOBIN="$bin" go install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

# kube-apiserver comes from the wrapper module tools/kubernetes (which also pins
# kube-controller-manager for the local world of a later issue), whose
# go.mod/go.sum are committed; the version is set by ldflags so the server reports it.
build_kube() {
  local cmd=$1 minor
  minor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
  (
    cd "$repo/tools/kubernetes"
    go build -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/component-base/version.gitTreeState=clean" \
      -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  )
}

build_kine() {
  GOBIN="$bin" go install -ldflags "-s -w" "github.com/k3s-io/kine@$KINE_VERSION"
}

group_kube() {
  build helm "$HELM_VERSION" build_helm
  build kine "$KINE_VERSION" build_kine
  build kube-apiserver "$KUBERNETES_VERSION" build_kube kube-apiserver
}

# The Pulumi CLI from the wrapper module tools/pulumi (pkg/v3 and sdk/v3 at the same version).
# The language host and the command/random providers are not served by the module proxy here
# (docs/decisions.md, "The real Pulumi engine"), so this group builds the CLI alone.
build_pulumi() {
  (
    cd "$repo/tools/pulumi"
    go build -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
}

group_engine() {
  build pulumi "$PULUMI_VERSION" build_pulumi
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(kube engine)
for group in "${groups[@]}"; do
  case "$group" in
    kube) group_kube ;;
    engine) group_engine ;;
    *)
      echo "tools: unknown group '$group'; allowed: kube, engine" >&2
      exit 2
      ;;
  esac
done

printf 'tools: %s\n' "${summary[@]}"
echo "tools: binaries in $bin"
