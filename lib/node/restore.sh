# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The restore script's body: puts back the original files and restarts the runtime.
# Follows the generated header and common.sh.
main() {
    local path restarted=no error
    if [ "$(id -u)" -ne 0 ]; then
        die "must run as root (the Pulumi program runs it through sudo -n for other users)"
    fi
    if [ ! -d "$BACKUP_DIR" ] && [ ! -e "$PENDING" ]; then
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
            # The runtime ran with the Dragonfly files before this run: put them back and restart
            # it with them. The originals stay kept for the next restore.
            error=$(runtime_error)
            rollback
            reload_needed=yes
            HEALTH_ERROR=
            if restart_runtime; then
                rm -f "$PENDING"
                die "$RUNTIME was not healthy with the original files, so the Dragonfly files were put back and $RUNTIME restarted with them (healthy). The originals stay under $BACKUP_DIR; restore puts them back once $RUNTIME can run with them. $RUNTIME said: $error"
            fi
            die "$RUNTIME was not healthy with the original files; the Dragonfly files were put back, but $RUNTIME is still not healthy: $(runtime_error). The next run restarts it. Before the rollback it said: $error"
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
