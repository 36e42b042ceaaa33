#!/usr/bin/env bash
# Deploys the stack: installs the npm dependencies, then `pulumi up` for the given stack
# (default: dev). Needs the Pulumi CLI and credentials for its backend, and a kubeconfig for the
# CCE cluster (ambient, or the stack's dragonfly-cce:kubeconfig).
set -euo pipefail

stack=${1:-dev}
shift || true

cd "$(dirname "$0")/.."

if ! command -v pulumi >/dev/null 2>&1; then
  echo "up: the Pulumi CLI is not installed; see https://www.pulumi.com/docs/install/" >&2
  exit 1
fi

npm ci --no-audit --no-fund
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
