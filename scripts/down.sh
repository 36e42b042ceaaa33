#!/usr/bin/env bash
# Takes a stack down.
#
#   ./scripts/down.sh local     destroys the local stack (the nodes' files are restored, the
#                               namespace and the release deleted), then stops the local world:
#                               the kubelet node, every process it started, by pid, and its
#                               network namespaces; restores what the kubelet changed on the
#                               machine (sysctls, cgroups); checks that nothing is left (the
#                               world compares the machine with what it found at start), and
#                               removes its directory
#   ./scripts/down.sh STACK     `pulumi destroy` of STACK on its CCE cluster
set -euo pipefail

stack=${1:?usage: down.sh local|STACK}
shift || true
cd "$(dirname "$0")/.."

die() {
  echo "down: $*" >&2
  exit 1
}

if [[ $stack != local ]]; then
  command -v pulumi >/dev/null 2>&1 || die "the Pulumi CLI is not installed"
  pulumi destroy --stack "$stack" "$@"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "the local world needs root"
# shellcheck source=scripts/pulumi-offline.sh
source scripts/pulumi-offline.sh
# shellcheck source=scripts/local-world.sh
source scripts/local-world.sh

if [[ ! -f $WORLD/world.json ]]; then
  [[ -e $WORLD ]] && die "$WORLD holds no local world (no world.json); nothing was stopped"
  echo "down: no local world in $WORLD"
  exit 0
fi

pid=$(world_field pid)
if world_alive; then
  if [[ -d $WORLD/state ]]; then
    local_pulumi destroy --stack local --yes "$@"
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && die "the world's supervisor (pid $pid) did not stop in 60 s; see $WORLD/world.log"
  supervised=1
else
  echo "down: the world's supervisor (pid $pid) is gone; removing what it left"
  supervised=0
fi

# Nothing of the world may be left: its namespaces (and every process in them).
mapfile -t left < <(ip netns list | awk -v p="dfpull-$pid-" 'index($1, p) == 1 { print $1 }')
for ns in "${left[@]}"; do
  for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null || true; done
  ip netns del "$ns" || true
done
mapfile -t left < <(ip netns list | awk -v p="dfpull-$pid-" 'index($1, p) == 1 { print $1 }')
[[ ${#left[@]} -eq 0 ]] || die "namespaces left behind: ${left[*]}"
if [[ $supervised -eq 0 ]]; then
  # The kubelet node's processes ended with its namespace; its cgroups and sysctls remain.
  node node_modules/.bin/ts-node --transpile-only scripts/world.ts --cleanup "$WORLD" || true
fi
# What the world found left on the machine after its teardown (a JSON list; [] is clean).
[[ -f $WORLD/teardown.json ]] || die "the world wrote no teardown report; see $WORLD/world.log"
if [[ $(tr -d ' \n' <"$WORLD/teardown.json") != "[]" ]]; then
  cat "$WORLD/teardown.json" >&2
  die "the local world left these behind (its directory $WORLD is kept)"
fi
tail -n 3 "$WORLD/world.log" 2>/dev/null || true
rm -rf "$WORLD"
echo "down: the local world is gone"
