# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# File tracking for the apply script (lib/node/scripts.ts puts the parts together): installs a
# file unless it already has the content, keeps its original once, remembers the directories it
# creates, records what was applied, and picks the text an edit starts from.

# awk ends its output with a newline; when it made no edit, keep the base byte for byte.
keep_if_unchanged() {
    if [ -s "$1" ] && [ "$(cat "$1")" = "$(cat "$2")" ]; then
        cat "$1" > "$2"
    fi
}

# Keeps the original of PATH once: a copy, or a marker that it did not exist.
backup_once() {
    local path=$1
    if [ -e "$BACKUP_DIR/files$path" ] || [ -e "$BACKUP_DIR/absent$path" ]; then
        return 0
    fi
    if [ -e "$path" ]; then
        mkdir -p "$(dirname "$BACKUP_DIR/files$path")"
        cp -p "$path" "$BACKUP_DIR/files$path.new"
        mv -f "$BACKUP_DIR/files$path.new" "$BACKUP_DIR/files$path"
    else
        mkdir -p "$(dirname "$BACKUP_DIR/absent$path")"
        : > "$BACKUP_DIR/absent$path"
    fi
    printf '%s\n' "$path" >> "$WORK/backed-up"
}

# Creates DIR and its missing parents, remembering each one so that restore can remove it.
ensure_dir() {
    local dir=$1
    if [ -d "$dir" ]; then
        return 0
    fi
    ensure_dir "$(dirname "$dir")"
    mkdir -m 0755 "$dir"
    printf '%s\n' "$dir" >> "$BACKUP_DIR/created-dirs"
    printf '%s\n' "$dir" >> "$WORK/created"
}

record_applied() {
    mkdir -p "$(dirname "$APPLIED_DIR$1")"
    cp -p "$1" "$APPLIED_DIR$1"
}

# install_file PATH SOURCE MODE: gives PATH the content of SOURCE unless it already has it.
# MODE applies to new files, and always when it is 0600 (the file holds a credential).
install_file() {
    local path=$1 source=$2 mode=$3 target tmp
    desired+=("$path")
    if [ -f "$path" ] && cmp -s "$source" "$path"; then
        if [ "$mode" = 0600 ]; then
            chmod 0600 "$path"
        fi
        if [ -e "$BACKUP_DIR/files$path" ] || [ -e "$BACKUP_DIR/absent$path" ]; then
            record_applied "$path"
        fi
        return 0
    fi
    if [ -f "$APPLIED_DIR$path" ] && [ -f "$path" ] && ! cmp -s "$APPLIED_DIR$path" "$path"; then
        keep_changed "$path" "it is replaced now"
    fi
    backup_once "$path"
    save_previous "$path"
    ensure_dir "$(dirname "$path")"
    target=$(write_target "$path")
    tmp=$(mktemp "$(dirname "$target")/.dragonfly-cce.XXXXXX")
    cat "$source" > "$tmp"
    if [ -e "$path" ] && [ "$mode" != 0600 ]; then
        chmod --reference="$path" "$tmp"
        chown --reference="$path" "$tmp"
    else
        chmod "$mode" "$tmp"
    fi
    note_pending "$path"
    mv -f "$tmp" "$target"
    record_applied "$path"
    mark_changed "$path"
}

# The text our edits start from: the original file when the current one is exactly what we
# wrote last time (so that removed registries or another mode leave nothing behind), otherwise
# the current file. An empty file stands for a missing one.
select_base() {
    local path=$1 dest=$2
    if [ -f "$APPLIED_DIR$path" ] && [ -f "$path" ] && cmp -s "$APPLIED_DIR$path" "$path"; then
        if [ -f "$BACKUP_DIR/files$path" ]; then
            cat "$BACKUP_DIR/files$path" > "$dest"
        else
            : > "$dest"
        fi
    elif [ -f "$path" ]; then
        if [ -f "$APPLIED_DIR$path" ]; then
            keep_changed "$path" "this run starts from the changed file, but restore puts back the file from before the first run"
        fi
        cat "$path" > "$dest"
    else
        : > "$dest"
    fi
}
