#!/usr/bin/env bash
# Builds the real tools the test suites and the local world run, from Go modules, once per
# machine. Idempotent: a tool whose binary and recipe stamp are present is reused.
#
#   scripts/tools.sh [GROUP...]     groups: kube (helm, crictl, kine, kube-apiserver,
#                                   kube-controller-manager), kubelet (kubelet, kube-scheduler, kube-proxy:
#                                   the local world's node), engine (the
#                                   pulumi CLI, the Node.js language host, the command, random
#                                   and kubernetes providers); default: kube engine kubelet
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
# crictl on the local world's nodes (the pull check pulls through the CRI, as on CCE nodes).
readonly CRICTL_VERSION=v1.34.0
readonly PULUMI_VERSION=v3.276.0
# The rest of the engine. The module proxy refuses the language host and the command and random
# providers, so they build from the unchanged upstream sources in ../shared/upstream
# (docs/decisions.md, "The real Pulumi engine"); the kubernetes provider's module is served at the
# pseudo-version of upstream's tag v4.25.0. package.json pins the SDKs to these versions.
readonly LANGUAGE_NODEJS_VERSION=v3.259.0
readonly COMMAND_VERSION=v1.2.1
readonly RANDOM_VERSION=v4.19.1
readonly RANDOM_BRIDGE_VERSION=v3.120.0
readonly KUBERNETES_PROVIDER_VERSION=v4.25.0
readonly KUBERNETES_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
readonly KUBERNETES_PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
upstream=${DRAGONFLY_CCE_UPSTREAM:-$repo/../shared/upstream}

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

# The Kubernetes commands come from the wrapper module tools/kubernetes, whose go.mod/go.sum are
# committed; the version is set by ldflags so each binary reports it.
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

build_crictl() {
  GOBIN="$bin" go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
}

group_kube() {
  build helm "$HELM_VERSION" build_helm
  build crictl "$CRICTL_VERSION" build_crictl
  build kine "$KINE_VERSION" build_kine
  build kube-apiserver "$KUBERNETES_VERSION" build_kube kube-apiserver
  build kube-controller-manager "$KUBERNETES_VERSION" build_kube kube-controller-manager
}

group_kubelet() {
  build kube-scheduler "$KUBERNETES_VERSION" build_kube kube-scheduler
  build kubelet "$KUBERNETES_VERSION" build_kube kubelet
  build kube-proxy "$KUBERNETES_VERSION" build_kube kube-proxy
}

# The Pulumi CLI from the wrapper module tools/pulumi (pkg/v3 and sdk/v3 at the same version).
build_pulumi() {
  (
    cd "$repo/tools/pulumi"
    go build -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
}

# scratch_copy SRC: prints a writable temporary copy of SRC (../shared is read-only in CI). The
# copy lives under the tools cache and is removed by the caller.
scratch_copy() {
  local src=$1 dir
  [[ -d "$src" ]] || {
    echo "tools: upstream source $src is missing (see ../shared/upstream/README.md)" >&2
    return 1
  }
  mkdir -p "$tools_dir/src"
  dir=$(mktemp -d "$tools_dir/src/build.XXXXXX")
  cp -R "$src/." "$dir/"
  chmod -R u+w "$dir"
  echo "$dir"
}

# with_version SCHEMA VERSION OUT: writes SCHEMA with its "version" field set, as upstream's
# generate step does for the embedded schema.
with_version() {
  node -e '
    const fs = require("fs");
    const [schema, version, out] = process.argv.slice(1);
    const doc = JSON.parse(fs.readFileSync(schema, "utf8"));
    doc.version = version;
    fs.writeFileSync(out, JSON.stringify(doc));
  ' "$1" "$2" "$3"
}

# The Node.js language host: upstream's local replaces point into the pulumi repository, so they
# are dropped and pkg/sdk are required at the tag's version.
build_language_nodejs() {
  local dir
  dir=$(scratch_copy "$upstream/pulumi-language-nodejs-${LANGUAGE_NODEJS_VERSION}")
  (
    cd "$dir"
    go mod edit -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3
    GOFLAGS="$GOFLAGS -mod=mod" go get "github.com/pulumi/pulumi/pkg/v3@$LANGUAGE_NODEJS_VERSION" \
      "github.com/pulumi/pulumi/sdk/v3@$LANGUAGE_NODEJS_VERSION"
    GOFLAGS="$GOFLAGS -mod=mod" go build \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGUAGE_NODEJS_VERSION" \
      -o "$bin/pulumi-language-nodejs" .
  )
  rm -rf "$dir"
}

build_command() {
  local dir
  dir=$(scratch_copy "$upstream/pulumi-command-${COMMAND_VERSION}/provider")
  (
    cd "$dir"
    GOFLAGS="$GOFLAGS -mod=mod" go build \
      -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION" \
      -o "$bin/pulumi-resource-command" ./cmd/pulumi-resource-command
  )
  rm -rf "$dir"
}

# random: the embedded schema is generated upstream; the pinned bridge version is refused by the
# module proxy and the next patch release is served.
build_random() {
  local dir
  dir=$(scratch_copy "$upstream/pulumi-random-${RANDOM_VERSION}/provider")
  (
    cd "$dir"
    with_version cmd/pulumi-resource-random/schema.json "${RANDOM_VERSION#v}" \
      cmd/pulumi-resource-random/schema-embed.json
    GOFLAGS="$GOFLAGS -mod=mod" go get "github.com/pulumi/pulumi-terraform-bridge/v3@$RANDOM_BRIDGE_VERSION"
    GOFLAGS="$GOFLAGS -mod=mod" go build \
      -ldflags "-s -w -X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=${RANDOM_VERSION#v}" \
      -o "$bin/pulumi-resource-random" ./cmd/pulumi-resource-random
  )
  rm -rf "$dir"
}

# kubernetes: from the module cache; its ../sdk replace points outside the module, and the
# embedded schema and terraform mapping are generated upstream.
build_kubernetes_provider() {
  local module dir cmd
  module=$(go mod download -json "$KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).Dir))')
  dir=$(scratch_copy "$module")
  cmd=cmd/pulumi-resource-kubernetes
  (
    cd "$dir"
    go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4
    with_version "$cmd/schema.json" "${KUBERNETES_PROVIDER_VERSION#v}" "$cmd/schema-embed.json"
    node -e 'const fs = require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8"))))' \
      "$cmd/terraform-mapping.json" "$cmd/terraform-mapping-embed.json"
    GOFLAGS="$GOFLAGS -mod=mod" go build \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${KUBERNETES_PROVIDER_VERSION#v}" \
      -o "$bin/pulumi-resource-kubernetes" "./$cmd"
  )
  rm -rf "$dir"
}

group_engine() {
  build pulumi "$PULUMI_VERSION" build_pulumi
  build pulumi-language-nodejs "$LANGUAGE_NODEJS_VERSION" build_language_nodejs
  build pulumi-resource-command "$COMMAND_VERSION" build_command
  build pulumi-resource-random "$RANDOM_VERSION (bridge $RANDOM_BRIDGE_VERSION)" build_random
  build pulumi-resource-kubernetes "$KUBERNETES_PROVIDER_VERSION ($KUBERNETES_PROVIDER_PSEUDO)" build_kubernetes_provider
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(kube engine kubelet)
for group in "${groups[@]}"; do
  case "$group" in
    kube) group_kube ;;
    engine) group_engine ;;
    kubelet) group_kubelet ;;
    *)
      echo "tools: unknown group '$group'; allowed: kube, engine, kubelet" >&2
      exit 2
      ;;
  esac
done

printf 'tools: %s\n' "${summary[@]}"
echo "tools: binaries in $bin"
