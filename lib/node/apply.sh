# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The apply script's run: the checks that span both runtimes, the leftovers of earlier runs, and
# main, which calls the parts in order (lib/node/scripts.ts puts apply-paths.sh, files.sh,
# proxy-dropin.sh, the runtime's edits and this file together).

# A node whose runtime changed in the config: restoring the other runtime's files would need a
# restart of that runtime, which this run does not do (it would keep running with them in
# force). Refused; the restore of the old runtime does it.
check_other_runtime() {
    local path other=docker
    if [ "$RUNTIME" = docker ]; then
        other=containerd
    fi
    while IFS= read -r path; do
        case $path in
            "/etc/$other/"* | "/etc/systemd/system/$other.service.d/"*)
                die "dragonfly-cce configured $other on this node ($path), and its runtime is now $RUNTIME. Its restore restarts $other with the original files: remove the node from nodes and run pulumi up (that restores it), then add it back with runtime $RUNTIME. Nothing was changed."
                ;;
        esac
    done < <(managed_paths)
}

# Restores files that an earlier run managed and this one no longer wants.
restore_leftovers() {
    local path want wanted
    while IFS= read -r path; do
        wanted=no
        for want in ${desired[@]+"${desired[@]}"}; do
            if [ "$want" = "$path" ]; then
                wanted=yes
            fi
        done
        if [ "$wanted" = no ]; then
            restore_path "$path"
            leftovers+=("$path")
        fi
    done < <(managed_paths)
}

main() {
    local path restarted=no error
    if [ "$(id -u)" -ne 0 ]; then
        die "must run as root (the Pulumi program runs it through sudo -n for other users)"
    fi
    if [ "$RUNTIME" = containerd ]; then
        command -v ctr >/dev/null 2>&1 || die "ctr not found: it is needed to check containerd's health"
    else
        command -v docker >/dev/null 2>&1 || die "docker not found: it is needed to check Docker's health"
    fi
    read_proxy_url
    lock_state
    mkdir -p "$BACKUP_DIR" "$APPLIED_DIR"
    resume_pending_restart
    # The edits that can be refused come first.
    check_other_runtime
    check_hand_dropins
    if [ "$RUNTIME" = docker ]; then
        check_docker_proxies
    fi
    if [ "$RUNTIME" = containerd ]; then
        configure_containerd
        check_effective_config
    else
        configure_docker
    fi
    if [ "$MODE" = proxy ]; then
        write_dropin
    else
        take_over_dropin
    fi
    restore_leftovers
    if [ "$restart_needed" = yes ]; then
        restarted=yes
        if ! restart_runtime; then
            error=$(runtime_error)
            rollback
            reload_needed=yes
            HEALTH_ERROR=
            if restart_runtime; then
                rm -f "$PENDING"
                die "$RUNTIME was not healthy after the change, so the previous files were put back and $RUNTIME restarted (healthy again). $RUNTIME said: $error"
            fi
            die "$RUNTIME was not healthy after the change; the previous files were put back but $RUNTIME is still not healthy: $(runtime_error). Before the rollback it said: $error"
        fi
    else
        check_running
    fi
    rm -f "$PENDING"
    for path in ${leftovers[@]+"${leftovers[@]}"}; do
        forget_path "$path"
    done
    # Directories only the files of another mode or registry needed go with them.
    if [ "${#leftovers[@]}" -gt 0 ]; then
        remove_created_dirs
    fi
    summary "$restarted"
}

main "$@"
