#!/usr/bin/env bash
# CI only: hands the cluster and node credentials from GitHub secrets to the Pulumi program.
#
# - KUBECONFIG_CONTENTS (secret KUBECONFIG): written to a file only this user can read; later
#   steps get KUBECONFIG pointing at it, the ambient kubeconfig the stack uses when
#   dragonfly-cce:kubeconfig is unset.
# - SSH_PRIVATE_KEY (secret SSH_PRIVATE_KEY): stored as the secret config value
#   dragonfly-cce:ssh.privateKey of the stack in this runner's checkout (never committed).
# Both are optional: a stack whose Pulumi.<stack>.yaml already holds them (encrypted) needs neither.
# Values travel through files and stdin only, never through command lines or logs.
set -euo pipefail

: "${PULUMI_STACK:?PULUMI_STACK is not set}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set (run this in GitHub Actions)}"
: "${GITHUB_ENV:?GITHUB_ENV is not set (run this in GitHub Actions)}"

umask 077

if [[ -n "${KUBECONFIG_CONTENTS:-}" ]]; then
  kubeconfig="$RUNNER_TEMP/kubeconfig"
  printf '%s\n' "$KUBECONFIG_CONTENTS" >"$kubeconfig"
  echo "KUBECONFIG=$kubeconfig" >>"$GITHUB_ENV"
  echo "credentials: KUBECONFIG set from the KUBECONFIG secret"
else
  echo "::notice::KUBECONFIG secret not set: the stack's dragonfly-cce:kubeconfig must name the cluster"
fi

if [[ -n "${SSH_PRIVATE_KEY:-}" ]]; then
  printf '%s\n' "$SSH_PRIVATE_KEY" | pulumi config set --secret --path ssh.privateKey --stack "$PULUMI_STACK"
  echo "credentials: dragonfly-cce:ssh.privateKey set (secret) from the SSH_PRIVATE_KEY secret"
fi
