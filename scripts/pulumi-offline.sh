# shellcheck shell=bash
# Sourced by up.sh and down.sh: runs the Pulumi CLI built by scripts/tools.sh, offline. The
# engine's plugins (language host, command, random and kubernetes providers) are found on PATH,
# so the CLI downloads nothing; a plugin it cannot find is an error at once, not a download.
# The caller sets PULUMI_HOME, the backend and the passphrase.
tools_bin=$(bash "$(dirname "${BASH_SOURCE[0]}")/tools.sh" --print-bin)
export PATH="$tools_bin:$PATH"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DIY_BACKEND_NO_LEGACY_WARNING=true
# The CLI warns once per ambient plugin ("using pulumi-resource-X from $PATH"); that is the design.
