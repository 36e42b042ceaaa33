#!/bin/bash
# grpc_health_probe stand-in: healthy when the address accepts a connection
# (-addr=:PORT, -addr=HOST:PORT or -addr=unix:///path).
set -euo pipefail
addr=
for arg in "$@"; do
  case $arg in
    -addr=*) addr=${arg#-addr=} ;;
  esac
done
if [[ -f /standin/probe-fails ]]; then
  echo "status: NOT_SERVING (this stand-in image is built to fail its probe)" >&2
  exit 1
fi
case $addr in
  unix://*)
    [[ -S ${addr#unix://} ]] || { echo "no socket at ${addr#unix://}" >&2; exit 2; }
    ;;
  *:*)
    host=${addr%:*}
    exec 3<>"/dev/tcp/${host:-127.0.0.1}/${addr##*:}"
    ;;
  *)
    echo "grpc_health_probe: -addr is required" >&2
    exit 1
    ;;
esac
echo "status: SERVING"
