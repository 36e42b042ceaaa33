#!/bin/sh
# dragonfly-cce node agent: the entrypoint of the agent's DaemonSet (docs/agent.md).
# Not written yet: lib/agent/agent.sh is being built on its own branch.
echo "dragonfly-cce-agent: not implemented" >&2
exit 1
