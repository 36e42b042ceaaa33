#!/usr/bin/env bash
# The main job: one `pulumi up`.
#
#   ./scripts/up.sh [local] [PULUMI_ARGS...]   starts the local world on this machine (as root;
#                                              tests/helpers/world/local.ts) and deploys the
#                                              `local` stack (Pulumi.local.yaml) to it
#   ./scripts/up.sh STACK [PULUMI_ARGS...]     deploys STACK to its CCE cluster
#
# The local world is set up from nothing: Debian packages, npm dependencies and the real tools
# (scripts/setup.sh), then the world, then `pulumi up` with the CLI and providers built here,
# offline. `./scripts/down.sh local` takes it all down again.
set -euo pipefail

stack=${1:-local}
shift || true
cd "$(dirname "$0")/.."
repo=$(pwd)

die() {
  echo "up: $*" >&2
  exit 1
}

if [[ $stack != local ]]; then
  # A CCE cluster: the user's Pulumi CLI and backend, the stack's kubeconfig (or the ambient one).
  command -v pulumi >/dev/null 2>&1 || die "the Pulumi CLI is not installed; see https://www.pulumi.com/docs/install/"
  npm ci --no-audit --no-fund
  pulumi stack select --create "$stack"
  pulumi up --stack "$stack" "$@"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "the local world needs root (network and mount namespaces, containerd, sshd)"
bash scripts/setup.sh
# shellcheck source=scripts/pulumi-offline.sh
source scripts/pulumi-offline.sh
# shellcheck source=scripts/local-world.sh
source scripts/local-world.sh

if world_alive; then
  echo "up: the local world is running (supervisor pid $(world_field pid)); reusing it"
else
  if [[ -e $WORLD && ! -f $WORLD/world.json && -n $(ls -A "$WORLD" 2>/dev/null) ]]; then
    die "$WORLD exists and is not a local world's directory; set DRAGONFLY_CCE_WORLD to another path"
  fi
  # A world whose supervisor is gone left a cluster that no longer exists: start from nothing.
  rm -rf "$WORLD"
  mkdir -p "$WORLD"
  echo "up: starting the local world in $WORLD (log: $WORLD/world.log)"
  setsid node node_modules/.bin/ts-node --transpile-only scripts/world.ts "$WORLD" 2 \
    >"$WORLD/world.log" 2>&1 </dev/null &
  supervisor=$!
  for _ in $(seq 1 600); do
    [[ -f $WORLD/world.json ]] && break
    kill -0 "$supervisor" 2>/dev/null || {
      tail -n 40 "$WORLD/world.log" >&2
      die "the local world did not start"
    }
    sleep 0.5
  done
  [[ -f $WORLD/world.json ]] || die "the local world did not start in 5 minutes; see $WORLD/world.log"
  grep '^world: up' "$WORLD/world.log" || true
fi

# The world's project: this program (Pulumi.yaml's main points here) with the world's copy of
# Pulumi.local.yaml, to which the world's SSH key (secret) and host keys are added. The
# repository's files are never written.
mkdir -p "$world_project" "$WORLD/state"
{
  cat Pulumi.yaml
  printf '\nmain: %s\n' "$repo"
} >"$world_project/Pulumi.yaml.new"
mv "$world_project/Pulumi.yaml.new" "$world_project/Pulumi.yaml"
{
  grep '^encryptionsalt:' "$world_project/Pulumi.local.yaml" 2>/dev/null || true
  cat Pulumi.local.yaml
} >"$world_project/Pulumi.local.yaml.new"
mv "$world_project/Pulumi.local.yaml.new" "$world_project/Pulumi.local.yaml"

local_pulumi stack select --create local
local_pulumi config set --stack local --secret --path 'dragonfly-cce:ssh.privateKey' <"$(world_field sshKey)"
local_pulumi config set --stack local --path 'dragonfly-cce:ssh.knownHosts' "$(world_field knownHosts)"
local_pulumi up --stack local --yes "$@"
local_pulumi stack output --stack local

hub=$(world_field hub)
world_field knownHosts >"$world_project/known_hosts"
cat <<INFO

up: the local stack is deployed. Everything runs in network namespaces; the operator's side is
    the hub namespace $hub. For example:
  pull an image on node-1 through Dragonfly (the client stand-in counts it in its metrics):
    ip netns exec $hub ssh -i $(world_field sshKey) -o UserKnownHostsFile=$world_project/known_hosts \\
      root@198.18.0.10 crictl pull $(world_field checkImage)
  see the release and its pods (on the pool's node kubelet-1) with the real Helm:
    ip netns exec $hub $tools_bin/helm --kubeconfig $(world_field kubeconfig) status dragonfly -n dragonfly-system --show-resources
  take it all down:
    ./scripts/down.sh local
INFO
