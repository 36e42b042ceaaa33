# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# Docker edits for the apply script: the routed registries in daemon.json (insecure-registries).

configure_docker() {
    local base=$WORK/daemon.base out=$WORK/daemon.json
    if [ "${#REGISTRIES[@]}" -eq 0 ]; then
        return 0
    fi
    select_base "$DOCKER_CONFIG" "$base"
    if ! awk -v regs="${REGISTRIES[*]}" "$AWK_DOCKER_JSON" "$base" > "$out"; then
        die "$DOCKER_CONFIG was not changed: $(cat "$out")"
    fi
    keep_if_unchanged "$base" "$out"
    install_file "$DOCKER_CONFIG" "$out" 0644
}
