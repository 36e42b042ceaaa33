#!/usr/bin/env bash
# Lints the fixed parts of the generated node-side scripts as the files they are (part of
# `npm run lint`): shellcheck on every lib/**/*.sh and on the project's own scripts (scripts/,
# .ci/run, the test stand-ins), and `gawk --lint --posix` on every awk
# program as the scripts assemble it (the reader plus one writer). Each generated script is
# also checked whole by the Jest suites (tests/node, tests/console, tests/verify).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in shellcheck gawk; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "lint-sources: $tool not found (bash scripts/setup.sh installs it)" >&2
    exit 1
  }
done

# The node agent's entrypoint runs under busybox sh, not bash: checked as POSIX sh.
posix_shells=(lib/agent/agent.sh)
mapfile -t shells < <(find lib scripts tests -name '*.sh' ! -path lib/agent/agent.sh | sort)
shells+=(.ci/run)
shellcheck --shell=bash -x "${shells[@]}"
shellcheck --shell=sh "${posix_shells[@]}"
shells+=("${posix_shells[@]}")

failed=0
lint_awk() {
  local out
  out=$(gawk --lint --posix -v hosts=registry.example.com -v dir=/etc/containerd/certs.d \
    -v regs=registry.example.com -v lines="1 2" -v tls_key=ca_file \
    -v tls_value='"/ca.crt"' -v tls_off=insecure_skip_verify "${@/#/-f}" /dev/null 2>&1 >/dev/null) || true
  if [[ -n $out ]]; then
    printf 'lint-sources: gawk --lint on %s:\n%s\n' "$*" "$out" >&2
    failed=1
  fi
}
node=lib/node
lint_awk "$node/containerd-toml.awk" "$node/containerd-toml-inspect.awk"
lint_awk "$node/containerd-toml.awk" "$node/containerd-toml-emit.awk" "$node/containerd-toml-tls.awk"
lint_awk "$node/containerd-toml.awk" "$node/containerd-toml-migrate.awk"
lint_awk "$node/containerd-toml.awk" "$node/containerd-toml-emit.awk" "$node/containerd-toml-drop.awk"
lint_awk "$node/containerd-toml.awk" "$node/containerd-toml-emit.awk" "$node/containerd-toml-config-path.awk"
lint_awk "$node/docker-json.awk"
for awk_file in lib/verify/*.awk lib/console/*.awk; do
  [[ -e $awk_file ]] && lint_awk "$awk_file"
done
if [[ $failed -ne 0 ]]; then
  exit 1
fi
echo "lint-sources: ${#shells[@]} shell files and the awk programs are clean"
