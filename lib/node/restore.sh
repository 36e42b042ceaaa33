# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The restore script's body: puts back the original files and restarts the runtime.
# Follows the generated header and common.sh.
main() {
    local path restarted=no
    if [ "$(id -u)" -ne 0 ]; then
        die "must run as root (the Pulumi program runs it through sudo -n for other users)"
    fi
    if [ ! -d "$BACKUP_DIR" ]; then
        summary no
        return 0
    fi
    lock_state
    resume_pending_restart
    while IFS= read -r path; do
        restore_path "$path"
    done < <(managed_paths)
    if [ "$restart_needed" = yes ]; then
        restarted=yes
        if ! restart_runtime; then
            die "restored the original files, but $RUNTIME is not healthy: $(runtime_error)"
        fi
    fi
    remove_created_dirs
    rm -rf "$BACKUP_DIR" "$APPLIED_DIR"
    rm -f "$PENDING" "$STATE_DIR/lock"
    if [ -d "$KEPT_DIR" ]; then
        warn "copies of files that were changed after dragonfly-cce wrote them stay under $KEPT_DIR: $(cd "$KEPT_DIR" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"
    fi
    rmdir "$STATE_DIR" 2>/dev/null || true
    summary "$restarted"
}

main "$@"
