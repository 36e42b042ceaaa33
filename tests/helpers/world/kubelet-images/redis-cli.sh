#!/bin/bash
# redis-cli stand-in: `redis-cli -h HOST -p PORT ping` over RESP, with AUTH from REDISCLI_AUTH.
set -euo pipefail
host=127.0.0.1
port=6379
while [[ $# -gt 1 ]]; do
  case $1 in
    -h) host=$2; shift 2 ;;
    -p) port=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $host == localhost ]] && host=127.0.0.1
exec 3<>"/dev/tcp/$host/$port"
if [[ -n ${REDISCLI_AUTH:-} ]]; then
  printf 'AUTH %s\r\n' "$REDISCLI_AUTH" >&3
  read -r _ <&3
fi
printf '%s\r\n' "${1:-PING}" >&3
read -r reply <&3
reply=${reply%$'\r'}
echo "${reply#+}"
