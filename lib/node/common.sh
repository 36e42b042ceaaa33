# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# Functions and state shared by apply.sh and restore.sh. The generated header (lib/node/scripts.ts)
# sets RUNTIME and STATE_DIR, and for apply.sh the per-node values; this file follows it.
BACKUP_DIR=$STATE_DIR/backup
APPLIED_DIR=$STATE_DIR/applied
# Copies of files someone changed after dragonfly-cce wrote them; restore leaves them.
KEPT_DIR=$STATE_DIR/kept
# Present from before the first file that needs a restart is written until the runtime runs
# with it: a run that was killed in between leaves it, and the next run restarts.
PENDING=$STATE_DIR/restart-pending
HEALTH_TIMEOUT=${DRAGONFLY_CCE_HEALTH_TIMEOUT:-60}
CONTAINERD_CONFIG=/etc/containerd/config.toml
DOCKER_CONFIG=/etc/docker/daemon.json

umask 022
WORK=$(mktemp -d)
: > "$WORK/touched"
: > "$WORK/created"
: > "$WORK/backed-up"
ROLLED_BACK=no
STATE_CREATED=no
PENDING_BEFORE=no
# Set once this run has (re)started the runtime: from then on it may run with other files than
# those on disk, so PENDING stays until a restart with them succeeds.
RESTART_TRIED=no

# On any failure, the files this run changed are put back before the script exits.
finish() {
    local status=$?
    if [ "$status" -ne 0 ] && [ "$ROLLED_BACK" = no ] && [ -s "$WORK/touched" ]; then
        rollback
        if [ "$PENDING_BEFORE" = no ] && [ "$RESTART_TRIED" = no ]; then
            # Refused before any restart: the runtime runs with the files as they are again.
            rm -f "$PENDING"
            warn "the files this run changed were put back"
        else
            : > "$PENDING"
            warn "the files this run changed were put back; $RUNTIME may not run with them yet: the next run restarts it"
        fi
    fi
    if [ "$status" -ne 0 ] && [ "$STATE_CREATED" = yes ] && [ -z "$(managed_paths)" ] && [ ! -e "$PENDING" ]; then
        # A refused first run leaves nothing behind.
        rm -rf "$STATE_DIR"
    fi
    rm -rf "$WORK"
}
trap finish EXIT

changed=()
restart_needed=no
reload_needed=no

die() {
    printf 'dragonfly-cce: %s\n' "$*" >&2
    exit 1
}

warn() {
    printf 'dragonfly-cce: warning: %s\n' "$*" >&2
}

# Prints the summary line that the Pulumi program reads.
summary() {
    local list=-
    if [ "${#changed[@]}" -gt 0 ]; then
        list=$(IFS=,; printf '%s' "${changed[*]}")
    fi
    printf 'dragonfly-cce: changed=%s, restarted=%s\n' "$list" "$1"
}

lock_state() {
    if [ ! -d "$STATE_DIR" ]; then
        STATE_CREATED=yes
    fi
    mkdir -p "$STATE_DIR"
    chmod 0700 "$STATE_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE_DIR/lock"
        flock -n 9 || die "another dragonfly-cce run is in progress on this node"
    fi
}

# A run killed between writing files and restarting the runtime left PENDING: restart now.
resume_pending_restart() {
    if [ -e "$PENDING" ]; then
        PENDING_BEFORE=yes
        reload_needed=yes
        restart_needed=yes
        warn "an earlier run changed files but did not finish restarting $RUNTIME; restarting it now"
    fi
}

# Before PATH is written: notes that the runtime must restart when PATH needs it.
note_pending() {
    if [ "$(path_kind "$1")" != none ]; then
        : > "$PENDING"
    fi
}

# Is PATH a file dragonfly-cce manages (its original is kept)?
managed() {
    [ -e "$BACKUP_DIR/files$1" ] || [ -e "$BACKUP_DIR/absent$1" ]
}

# Keeps a copy of PATH, which someone changed after dragonfly-cce wrote it, under KEPT_DIR and
# says so (WHAT: what happens to PATH now). The copy outlives restore.
keep_changed() {
    local path=$1 what=$2 copy
    copy=$KEPT_DIR/$(date -u +%Y%m%dT%H%M%SZ)-$$$path
    mkdir -p "$(dirname "$copy")"
    cp -p "$path" "$copy"
    warn "$path was changed after dragonfly-cce wrote it; $what. The changed file is kept as $copy"
}

# What a change to PATH requires: reload (systemd unit), restart, or none.
path_kind() {
    case $1 in
        /etc/systemd/system/*) echo reload ;;
        "$CONTAINERD_CONFIG" | "$DOCKER_CONFIG") echo restart ;;
        *) echo none ;;
    esac
}

mark_changed() {
    changed+=("$1")
    case $(path_kind "$1") in
        reload) reload_needed=yes; restart_needed=yes ;;
        restart) restart_needed=yes ;;
    esac
}

# Remembers how PATH looked before this run, once, so that a failed run can put it back.
save_previous() {
    local path=$1
    if [ -e "$WORK/prev-files$path" ] || [ -e "$WORK/prev-absent$path" ]; then
        return 0
    fi
    if [ -e "$path" ]; then
        mkdir -p "$(dirname "$WORK/prev-files$path")"
        cp -p "$path" "$WORK/prev-files$path"
    else
        mkdir -p "$(dirname "$WORK/prev-absent$path")"
        : > "$WORK/prev-absent$path"
    fi
    # The record of what we last wrote goes back with the file.
    if [ -f "$APPLIED_DIR$path" ]; then
        mkdir -p "$(dirname "$WORK/prev-applied$path")"
        cp -p "$APPLIED_DIR$path" "$WORK/prev-applied$path"
    fi
    printf '%s\n' "$path" >> "$WORK/touched"
}

# The file that writing PATH changes: PATH, or the file PATH's symlink points to, so that a
# symlinked config.toml or daemon.json stays a link (to the edited file).
write_target() {
    if [ -L "$1" ]; then
        readlink -f -- "$1" || die "$1 is a symlink to $(readlink -- "$1"), whose directory does not exist"
    else
        printf '%s\n' "$1"
    fi
}

# Copies SOURCE over PATH atomically (temp file in the same directory, then rename),
# keeping SOURCE's mode and owner.
replace_with_copy() {
    local source=$1 path tmp
    path=$(write_target "$2")
    tmp=$(mktemp "$(dirname "$path")/.dragonfly-cce.XXXXXX")
    cp -p "$source" "$tmp"
    mv -f "$tmp" "$path"
}

# Puts every file this run changed back as it was before the run, and removes the
# directories it created.
rollback() {
    local path
    ROLLED_BACK=yes
    while IFS= read -r path; do
        if [ -f "$WORK/prev-files$path" ]; then
            replace_with_copy "$WORK/prev-files$path" "$path"
        else
            rm -f "$(write_target "$path")"
        fi
        if [ -f "$WORK/prev-applied$path" ]; then
            cp -p "$WORK/prev-applied$path" "$APPLIED_DIR$path"
        else
            rm -f "$APPLIED_DIR$path"
        fi
    done < "$WORK/touched"
    sort -ru "$WORK/created" | while IFS= read -r path; do
        rmdir "$path" 2>/dev/null || true
    done
    # Originals first kept by this run are what the files are again: nothing to keep.
    while IFS= read -r path; do
        rm -f "$BACKUP_DIR/files$path" "$BACKUP_DIR/absent$path"
    done < "$WORK/backed-up"
}

# Managed paths: every file with a kept original.
managed_paths() {
    local kind
    for kind in files absent; do
        if [ -d "$BACKUP_DIR/$kind" ]; then
            (cd "$BACKUP_DIR/$kind" && find . -type f | sed 's|^\.||')
        fi
    done | sort -u
}

# Puts the original of PATH back (byte for byte, mode and owner included), or removes PATH
# when it did not exist. The kept original is forgotten later, once the runtime is healthy.
restore_path() {
    local path=$1
    if [ -f "$BACKUP_DIR/files$path" ]; then
        if [ -f "$path" ] && cmp -s "$BACKUP_DIR/files$path" "$path"; then
            return 0
        fi
        if [ -f "$APPLIED_DIR$path" ] && [ -f "$path" ] && ! cmp -s "$APPLIED_DIR$path" "$path"; then
            keep_changed "$path" "the file from before dragonfly-cce is put back"
        fi
        save_previous "$path"
        note_pending "$path"
        mkdir -p "$(dirname "$path")"
        replace_with_copy "$BACKUP_DIR/files$path" "$path"
        mark_changed "$path"
    elif [ -e "$path" ]; then
        if [ -f "$APPLIED_DIR$path" ] && ! cmp -s "$APPLIED_DIR$path" "$path"; then
            keep_changed "$path" "it did not exist before dragonfly-cce and is removed"
        fi
        save_previous "$path"
        note_pending "$path"
        rm -f "$(write_target "$path")"
        mark_changed "$path"
    fi
}

forget_path() {
    rm -f "$BACKUP_DIR/files$1" "$BACKUP_DIR/absent$1" "$APPLIED_DIR$1"
}

# Is the runtime up and usable? On failure HEALTH_ERROR holds the runtime's own error when it
# is known for sure (then waiting longer does not help).
runtime_healthy() {
    local plugins status
    HEALTH_ERROR=
    if [ "$RUNTIME" = containerd ]; then
        plugins=$(ctr plugins ls 2>/dev/null) || return 1
        status=$(printf '%s\n' "$plugins" | awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" { print $NF }')
        if [ "$status" = ok ]; then
            return 0
        fi
        HEALTH_ERROR=$(ctr plugins ls -d 2>/dev/null |
            awk '/^Type:/ { t = $2 } /^ID:/ { id = $2 }
                 /^[ \t]*Message:/ && t == "io.containerd.grpc.v1" && id == "cri" { sub(/^[ \t]*Message:[ \t]*/, ""); print }')
        HEALTH_ERROR="the CRI plugin is ${status:-missing}: ${HEALTH_ERROR:-no error reported}"
        return 1
    fi
    systemctl is-active --quiet docker && docker info >/dev/null 2>&1
}

wait_healthy() {
    local deadline=$((SECONDS + HEALTH_TIMEOUT))
    until runtime_healthy; do
        if [ -n "$HEALTH_ERROR" ] || [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.2
    done
}

# The runtime's own words about why it is not healthy.
runtime_error() {
    if [ -n "${HEALTH_ERROR:-}" ]; then
        printf '%s' "$HEALTH_ERROR"
        return 0
    fi
    if command -v journalctl >/dev/null 2>&1; then
        journalctl -u "$RUNTIME" -n 15 --no-pager -o cat 2>/dev/null | tail -n 15 || true
    fi
    if [ "$RUNTIME" = docker ]; then
        docker info 2>&1 >/dev/null | tail -n 5 || true
    fi
}

# Restarts the runtime (after daemon-reload when a unit file changed) and waits until healthy.
restart_runtime() {
    RESTART_TRIED=yes
    if [ "$reload_needed" = yes ]; then
        systemctl daemon-reload
    fi
    systemctl restart "$RUNTIME" || return 1
    wait_healthy
}

# A run that restarts nothing still says whether the runtime runs: a summary line over a stopped
# runtime (one an earlier failure left down, say) would read as fine.
check_running() {
    if ! runtime_healthy; then
        die "$RUNTIME is not healthy, and this run changed nothing that needs a restart: $(runtime_error). Start it (systemctl restart $RUNTIME) or fix it, then run again."
    fi
}

# Removes the directories dragonfly-cce created, deepest first, when they are empty, and
# forgets the ones that are gone.
remove_created_dirs() {
    local dir
    if [ -f "$BACKUP_DIR/created-dirs" ]; then
        sort -ru "$BACKUP_DIR/created-dirs" | while IFS= read -r dir; do
            rmdir "$dir" 2>/dev/null || true
        done
        sort -u "$BACKUP_DIR/created-dirs" | while IFS= read -r dir; do
            if [ -d "$dir" ]; then
                printf '%s\n' "$dir"
            fi
        done > "$BACKUP_DIR/created-dirs.new"
        mv -f "$BACKUP_DIR/created-dirs.new" "$BACKUP_DIR/created-dirs"
    fi
}
