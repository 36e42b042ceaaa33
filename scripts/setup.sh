#!/usr/bin/env bash
# Prepares a machine to run the test suite: the Debian packages the node-side tests run for real
# (containerd, runc, the OCI registry, sshd, shellcheck, ...), the npm dependencies, and the real
# tools built from Go modules (helm, kube-apiserver, kine: scripts/tools.sh; minutes when cold,
# seconds when warm).
# Run as root on Debian/Ubuntu; elsewhere it installs the npm dependencies only and says what
# the privileged suites will skip.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  mapfile -t packages < <(grep -v '^#' scripts/debian-packages.txt)
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
  echo "setup: Debian packages installed: ${packages[*]}"
else
  echo "setup: not root on a Debian machine: Debian packages not installed; suites that need them will be skipped (and fail under CI=true)." >&2
fi

# npm ci reinstalls from scratch; skip it when node_modules was installed from this very lock file.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f node_modules/.dragonfly-cce-lock && $(cat node_modules/.dragonfly-cce-lock) == "$lock_sum" ]]; then
  echo "setup: npm dependencies are installed from this package-lock.json"
else
  npm ci --no-audit --no-fund
  printf '%s' "$lock_sum" >node_modules/.dragonfly-cce-lock
fi

# Go's own install location, for shells whose PATH lacks it.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if command -v go >/dev/null 2>&1; then
  bash scripts/tools.sh
else
  echo "setup: no 'go' on PATH: the real tools (helm, kube-apiserver) are not built; the real-tool suites will be skipped (and fail under CI=true)." >&2
fi
