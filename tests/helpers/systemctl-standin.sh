#!/usr/bin/env bash
# Stand-in for systemctl, journalctl and docker on test machines where systemd does not run
# (tests only). It behaves as the name it is called by. Two users:
#
# - the node sandbox (tests/node/sandbox.ts) links it into a directory at the front of PATH and
#   sets STANDIN_DIR, CONTAINERD_ADDRESS and STANDIN_CONTAINERD_DIR, so that containerd's
#   socket, root and state are private and concurrent test runs do not collide;
# - the test world's node (tests/helpers/world/node.ts) bind-mounts it over /usr/bin/systemctl
#   in the node's mount namespace; state goes to /run/systemctl-standin and containerd uses its
#   default paths.
#
# What it models, as systemd does it:
# - `daemon-reload` reads the Environment= and EnvironmentFile= lines of the unit file
#   (/etc/systemd/system/containerd.service when it exists, which overrides the packaged one),
#   then of containerd.service.d/*.conf; a restart uses what the last daemon-reload read (the first start
#   reads them itself), so a script that forgets daemon-reload keeps the old environment.
# - The files EnvironmentFile= names are read at each start, after Environment= (their values
#   win): KEY=VALUE lines, # and ; comments, quotes around a value removed, no % specifiers; a
#   wildcard expression names every file it matches. A missing file fails the start unless its
#   path starts with "-". Unit file lines may be indented.
# - Environment= values are split into words like systemd does (quotes group, backslash
#   escapes); in each word %% is a literal %, and a word with any other specifier is ignored
#   with systemd's message (specifiers are not resolved here).
# - `start` and `restart` run Debian's real containerd with a clean environment (PATH plus the
#   unit's assignments) and none of the caller's file descriptors, and return once containerd
#   serves its socket (Type=notify); they fail when the process exits first.
# - `stop` sends SIGKILL rather than SIGTERM: no containers run here, and a graceful shutdown
#   takes seconds the tests do not need to spend.
# - `is-active [--quiet]` and `status` answer with systemd's words and exit codes.
# - `restart docker` checks /etc/docker/daemon.json with python3's JSON parser (there is no
#   dockerd); `docker info` then succeeds only when that check passed.
# - `journalctl -u containerd` prints the tail of containerd's log.
# - Every call is appended to $STANDIN_DIR/calls.log as "name args".
#
# Failure injection (node sandbox):
# - STANDIN_BREAK, while a dragonfly-cce drop-in is present: `cri` starts containerd with
#   registry.mirrors + config_path appended to its config (containerd runs, its CRI plugin
#   fails: the case `systemctl is-active` misses); `start` appends an invalid line, so
#   containerd exits at start.
# - STANDIN_KILL_CALLER=1: `systemctl restart containerd` SIGKILLs its caller instead (an apply
#   interrupted at the restart).
# - STANDIN_SLOW_RESTART=N: every containerd restart takes N seconds longer (a slow node).
set -euo pipefail

state=${STANDIN_DIR:-/run/systemctl-standin}
dropins=/etc/systemd/system/containerd.service.d
unit_override=/etc/systemd/system/containerd.service
unit_packaged=/lib/systemd/system/containerd.service
config=/etc/containerd/config.toml
mkdir -p "$state"
name=$(basename "$0")
printf '%s %s\n' "$name" "$*" >> "$state/calls.log"

# Writes the words of an Environment= value, each ended by NUL, as systemd splits them.
environment_words() {
    local s=$1 word='' in_word=no quote='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if [ "$c" = "\\" ]; then
            i=$((i + 1))
            c=${s:i:1}
            case $c in
                n) c=$'\n' ;;
                t) c=$'\t' ;;
            esac
            word+=$c
            in_word=yes
        elif [ -n "$quote" ]; then
            if [ "$c" = "$quote" ]; then
                quote=''
            else
                word+=$c
            fi
        else
            case $c in
                '"' | "'")
                    quote=$c
                    in_word=yes
                    ;;
                ' ' | $'\t')
                    if [ "$in_word" = yes ]; then
                        printf '%s\0' "$word"
                    fi
                    word=''
                    in_word=no
                    ;;
                *)
                    word+=$c
                    in_word=yes
                    ;;
            esac
        fi
    done
    if [ "$in_word" = yes ]; then
        printf '%s\0' "$word"
    fi
}

# Reads the unit file's and the drop-ins' Environment= assignments into $state/containerd.env (NUL-separated) and
# their EnvironmentFile= paths into $state/containerd.env-files (one a line).
daemon_reload() {
    local file line word fragment=
    : > "$state/containerd.env.new"
    : > "$state/containerd.env-files.new"
    if [ -f "$unit_override" ]; then
        fragment=$unit_override
    elif [ -f "$unit_packaged" ]; then
        fragment=$unit_packaged
    fi
    for file in ${fragment:+"$fragment"} "$dropins"/*.conf; do
        [ -f "$file" ] || continue
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line%$'\r'}
            line=${line#"${line%%[![:space:]]*}"}
            case $line in
                EnvironmentFile=)
                    : > "$state/containerd.env-files.new"
                    ;;
                EnvironmentFile=*)
                    printf '%s\n' "${line#EnvironmentFile=}" >> "$state/containerd.env-files.new"
                    ;;
                Environment=)
                    : > "$state/containerd.env.new"
                    ;;
                Environment=*)
                    while IFS= read -r -d '' word; do
                        if [[ ${word//%%/} == *%* ]]; then
                            printf '%s: Failed to resolve specifiers in %s, ignoring\n' "$file" "$word" >> "$state/containerd.log"
                        elif [[ $word != [A-Za-z_]*=* ]]; then
                            printf '%s: Invalid environment assignment, ignoring: %s\n' "$file" "$word" >> "$state/containerd.log"
                        else
                            printf '%s\0' "${word//%%/%}" >> "$state/containerd.env.new"
                        fi
                    done < <(environment_words "${line#Environment=}")
                    ;;
            esac
        done < "$file"
    done
    mv -f "$state/containerd.env.new" "$state/containerd.env"
    mv -f "$state/containerd.env-files.new" "$state/containerd.env-files"
}

# Writes the assignments of an EnvironmentFile, each ended by NUL: PATH is a file name or a
# wildcard expression (every match, in order); fails when nothing matches and PATH does not
# start with "-".
environment_file() {
    local path=$1 file line key value files=()
    mapfile -t files < <(compgen -G "${path#-}" | sort)
    if [ "${#files[@]}" -eq 0 ]; then
        [ "${path:0:1}" = - ] && return 0
        printf 'Failed to load environment files: %s: No such file or directory\n' "$path" >&2
        return 1
    fi
    for file in "${files[@]}"; do
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line%$'\r'}
            case $line in
                '' | '#'* | ';'*) continue ;;
                *=*) ;;
                *) continue ;;
            esac
            key=${line%%=*}
            value=${line#*=}
            case $value in
                \"*\") value=${value:1:${#value}-2} ;;
                \'*\') value=${value:1:${#value}-2} ;;
            esac
            printf '%s=%s\0' "${key//[[:space:]]/}" "$value"
        done < "$file"
    done
}

# Is PID running (not gone, not a zombie)?
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

containerd_pid() {
    local pid
    pid=$(cat "$state/containerd.pid" 2>/dev/null) || return 1
    alive "$pid" && printf '%s' "$pid"
}

ctr_ready() {
    ctr ${CONTAINERD_ADDRESS:+--address "$CONTAINERD_ADDRESS"} version >/dev/null 2>&1
}

stop_containerd() {
    local pid i
    pid=$(containerd_pid) || return 0
    kill -9 "$pid"
    for i in $(seq 100); do
        alive "$pid" || break
        sleep 0.02
    done
    rm -f "$state/containerd.pid"
}

# The config containerd starts with: the node's own, or a broken copy (STANDIN_BREAK).
broken_config() {
    cp "$config" "$state/broken.toml" 2>/dev/null || printf 'version = 2\n' > "$state/broken.toml"
    if [ "$STANDIN_BREAK" = cri ]; then
        printf '\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."standin.invalid"]\n  endpoint = ["http://127.0.0.1:9"]\n' >> "$state/broken.toml"
    else
        printf '\nthis is not toml\n' >> "$state/broken.toml"
    fi
    printf '%s' "$state/broken.toml"
}

start_containerd() {
    local pid i assignment binary env_file
    local -a envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) args=()
    if containerd_pid >/dev/null; then
        return 0
    fi
    [ -f "$state/containerd.env" ] || daemon_reload
    while IFS= read -r -d '' assignment; do
        envs+=("$assignment")
    done < "$state/containerd.env"
    while IFS= read -r env_file; do
        environment_file "$env_file" > "$state/containerd.env-file" || {
            echo "Job for containerd.service failed because of unavailable resources or another system error." >&2
            return 1
        }
        while IFS= read -r -d '' assignment; do
            envs+=("$assignment")
        done < "$state/containerd.env-file"
    done < "$state/containerd.env-files"
    if [ -n "${STANDIN_BREAK:-}" ] && ls "$dropins"/*.conf >/dev/null 2>&1; then
        args+=(--config "$(broken_config)")
    fi
    if [ -n "${CONTAINERD_ADDRESS:-}" ]; then
        args+=(--address "$CONTAINERD_ADDRESS")
    fi
    if [ -n "${STANDIN_CONTAINERD_DIR:-}" ]; then
        mkdir -p "$STANDIN_CONTAINERD_DIR"
        args+=(--root "$STANDIN_CONTAINERD_DIR/root" --state "$STANDIN_CONTAINERD_DIR/state")
    fi
    binary=$(command -v containerd)
    printf -- '--- start %s\n' "$(date +%s.%N)" >> "$state/containerd.log"
    (
        # Like systemd: none of the caller's file descriptors (its lock among them).
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then
                eval "exec $fd>&-"
            fi
        done
        exec setsid env -i "${envs[@]}" "$binary" "${args[@]}" < /dev/null >> "$state/containerd.log" 2>&1
    ) &
    pid=$!
    printf '%s' "$pid" > "$state/containerd.pid"
    for i in $(seq 200); do
        if ! alive "$pid"; then
            echo "Job for containerd.service failed because the control process exited with error code." >&2
            return 1
        fi
        if ctr_ready; then
            return 0
        fi
        [ "$i" = 200 ] || sleep 0.05
    done
    echo "Job for containerd.service timed out." >&2
    return 1
}

docker_running() {
    [ "$(cat "$state/docker.state" 2>/dev/null)" = running ]
}

restart_docker() {
    if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' /etc/docker/daemon.json 2> "$state/docker.log" ||
        [ ! -e /etc/docker/daemon.json ]; then
        echo running > "$state/docker.state"
        return 0
    fi
    echo failed > "$state/docker.state"
    echo "Job for docker.service failed because the control process exited with error code." >&2
    return 1
}

# systemctl VERB [--quiet] [UNIT]
systemctl_call() {
    local verb=${1:-} unit='' quiet=no arg active=no
    shift || true
    for arg in "$@"; do
        case $arg in
            --quiet | -q) quiet=yes ;;
            -*) ;;
            *) unit=${arg%.service} ;;
        esac
    done
    case $verb/$unit in
        daemon-reload/) daemon_reload ;;
        start/containerd) start_containerd ;;
        restart/containerd)
            if [ -n "${STANDIN_KILL_CALLER:-}" ]; then
                # The caller is killed (SIGKILL) at this point: an interrupted run.
                kill -9 "$PPID"
                exit 1
            fi
            sleep "${STANDIN_SLOW_RESTART:-0}"
            stop_containerd
            start_containerd
            ;;
        stop/containerd) stop_containerd ;;
        restart/docker) restart_docker ;;
        is-active/containerd | status/containerd | is-active/docker | status/docker)
            if { [ "$unit" = containerd ] && containerd_pid >/dev/null; } || { [ "$unit" = docker ] && docker_running; }; then
                active=yes
            fi
            if [ "$verb" = status ]; then
                if [ "$active" = yes ]; then
                    echo "$unit.service - active (running) since the stand-in started it"
                else
                    echo "$unit.service - inactive (dead)"
                fi
            elif [ "$quiet" = no ]; then
                if [ "$active" = yes ]; then echo active; else echo inactive; fi
            fi
            [ "$active" = yes ] || exit 3
            ;;
        *)
            echo "systemctl stand-in: '$verb $unit' is not simulated" >&2
            exit 1
            ;;
    esac
}

case $name in
    systemctl)
        systemctl_call "$@"
        ;;
    journalctl)
        tail -n 15 "$state/containerd.log" 2>/dev/null || true
        ;;
    docker)
        if [ "${1:-}" = info ] && docker_running; then
            echo "Server Version: stand-in"
            exit 0
        fi
        echo "Cannot connect to the Docker daemon. $(cat "$state/docker.log" 2>/dev/null)" >&2
        exit 1
        ;;
    *)
        echo "stand-in called as $name" >&2
        exit 1
        ;;
esac
