#!/bin/bash
# nc stand-in for `nc -vz HOST PORT` (the chart's wait-for init containers): Debian's
# busybox-static has no -z.
set -euo pipefail
args=()
for a in "$@"; do
  [[ $a == -* ]] || args+=("$a")
done
[[ ${#args[@]} -eq 2 ]] || { echo "nc: usage: nc -vz HOST PORT" >&2; exit 2; }
if exec 3<>"/dev/tcp/${args[0]}/${args[1]}"; then
  echo "${args[0]} (${args[1]}) open" >&2
else
  exit 1
fi
