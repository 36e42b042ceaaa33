#!/usr/bin/env bash
# systemctl and journalctl of the agent suite's sandbox node (tests/agent/agentWorld.ts bind-mounts
# this file over /usr/bin/systemctl and /usr/bin/journalctl in the node's mount namespace). It runs
# the project's stand-in (tests/helpers/systemctl-standin.sh, linked under /run/node-standin by the
# name it is called by) with one thing systemd does and the stand-in cannot know about here:
#
# - systemd starts a unit in a cgroup of its own. The agent calls `systemctl restart containerd`
#   from inside its container, whose runtime kills every process of the container's cgroup when
#   the container ends (hostPID). So this moves itself, before the stand-in starts containerd,
#   into the cgroups of the node's init: a restarted containerd outlives the agent, as on a node.
# - /run/node-standin/break, when present, holds the stand-in's STANDIN_BREAK (failure injection:
#   containerd comes up unhealthy while a dragonfly-cce drop-in is present); /run/node-standin/slow
#   its STANDIN_SLOW_RESTART (seconds a restart takes longer).
set -euo pipefail

links=/run/node-standin

while IFS=: read -r _ controllers path; do
    case $controllers in
        '') dir=/sys/fs/cgroup/unified ;;
        name=*) dir=/sys/fs/cgroup/${controllers#name=} ;;
        *) dir=/sys/fs/cgroup/$controllers ;;
    esac
    if [[ -w $dir$path/cgroup.procs ]]; then
        echo "$$" > "$dir$path/cgroup.procs"
    fi
done < /proc/1/cgroup

if [[ -f $links/break ]]; then
    STANDIN_BREAK=$(cat "$links/break")
    export STANDIN_BREAK
fi
if [[ -f $links/slow ]]; then
    STANDIN_SLOW_RESTART=$(cat "$links/slow")
    export STANDIN_SLOW_RESTART
fi
exec "$links/$(basename "$0")" "$@"
