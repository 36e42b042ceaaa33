#!/usr/bin/env bash
# dragonfly-cce: report this node's SSH host keys (accept-new-and-report)
set -euo pipefail
found=0
for f in /etc/ssh/ssh_host_*_key.pub; do
    [ -r "$f" ] || continue
    read -r type data _ < "$f" || true
    printf 'dragonfly-cce-hostkey: %s %s\n' "$type" "$data"
    found=1
done
if [ "$found" = 0 ]; then
    echo 'dragonfly-cce: no readable /etc/ssh/ssh_host_*_key.pub on this node' >&2
    exit 1
fi
