#!/usr/bin/env bash
exec /usr/bin/ctr --address "$CTR_ADDRESS" "$@"
