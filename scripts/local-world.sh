# shellcheck shell=bash
# Sourced by up.sh and down.sh: where the local world lives and how to talk to it. The world
# itself is tests/helpers/world/local.ts, run by scripts/world.ts (its supervisor).

WORLD=${DRAGONFLY_CCE_WORLD:-/var/tmp/dragonfly-cce-local}
world_project="$WORLD/project"
# The world's throwaway stack: state and secrets provider in the world's directory.
export PULUMI_HOME="$WORLD/pulumi-home"
export PULUMI_BACKEND_URL="file://$WORLD/state"
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-dragonfly-cce-local-world}

# world_field NAME: a top-level field of world.json.
world_field() {
  node -e 'const w = require(process.argv[1]); const v = w[process.argv[2]]; console.log(typeof v === "string" ? v : JSON.stringify(v));' \
    "$WORLD/world.json" "$1"
}

# world_alive: the world's supervisor is running.
world_alive() {
  [[ -f "$WORLD/world.json" ]] && kill -0 "$(world_field pid)" 2>/dev/null
}

# local_pulumi ARGS...: the CLI on the world's stack, inside the world's hub namespace (where the
# API server and the nodes are reachable), with the world's kubeconfig.
local_pulumi() {
  ip netns exec "$(world_field hub)" env KUBECONFIG="$(world_field kubeconfig)" \
    pulumi --cwd "$world_project" --non-interactive "$@"
}
