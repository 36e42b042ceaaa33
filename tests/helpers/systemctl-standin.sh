#!/usr/bin/env bash
# Stand-in for systemctl, journalctl and docker on machines without systemd (tests only).
# Link it into a directory at the front of PATH under those three names.
#
# - Every call is appended to $STANDIN_DIR/calls.log.
# - `systemctl restart containerd` really (re)starts Debian's containerd like systemd would:
#   with the Environment= lines of /etc/systemd/system/containerd.service.d/*.conf, the default
#   /etc/containerd/config.toml, and private paths (--address $CONTAINERD_ADDRESS, --root and
#   --state under $STANDIN_CONTAINERD_DIR) so that concurrent test runs do not collide. Like
#   systemd (Type=notify) it returns once containerd serves its socket, and fails when the
#   process exits first. File descriptor 9 (the scripts' lock) is not passed on, as systemd
#   would not pass it either.
# - `systemctl restart docker` checks /etc/docker/daemon.json with python3's JSON parser (there is
#   no dockerd here); `docker info` then succeeds only when that check passed.
# - STANDIN_BREAK simulates a broken runtime start while a dragonfly-cce drop-in is present:
#   `cri` starts containerd with registry.mirrors + config_path appended to its config (containerd
#   runs, its CRI plugin fails: the case `systemctl is-active` misses); `start` appends an invalid
#   line, so containerd exits at start.
# - STANDIN_KILL_CALLER=1 makes `systemctl restart containerd` SIGKILL its caller instead (an
#   apply interrupted at the restart).
# - STANDIN_SLOW_RESTART=N makes every containerd restart take N seconds longer (a slow node).
# - Environment= lines with a % specifier other than %% are dropped and logged, as systemd does.
# - `journalctl -u containerd` prints the tail of containerd's log.
set -euo pipefail

: "${STANDIN_DIR:?STANDIN_DIR must be set}"
name=$(basename "$0")
printf '%s %s\n' "$name" "$*" >> "$STANDIN_DIR/calls.log"

# Is PID running (not gone, not a zombie)?
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

containerd_pid() {
    local pid
    pid=$(cat "$STANDIN_DIR/containerd.pid" 2>/dev/null) || return 1
    alive "$pid" && printf '%s' "$pid"
}

# Stops containerd. SIGKILL rather than systemd's SIGTERM: no containers run here, and a
# graceful shutdown takes seconds that the tests do not need to spend.
stop_containerd() {
    local pid i
    pid=$(containerd_pid) || return 0
    kill -9 "$pid"
    for i in $(seq 100); do
        alive "$pid" || break
        sleep 0.02
    done
    rm -f "$STANDIN_DIR/containerd.pid"
}

start_containerd() {
    local dropin_dir=/etc/systemd/system/containerd.service.d config=/etc/containerd/config.toml
    local line assignment args=() pid i
    : "${CONTAINERD_ADDRESS:?}" "${STANDIN_CONTAINERD_DIR:?}"
    for file in "$dropin_dir"/*.conf; do
        [ -f "$file" ] || continue
        while IFS= read -r line; do
            case $line in
                Environment=\"*\")
                    assignment=${line#Environment=\"}
                    assignment=${assignment%\"}
                    # Like systemd: % starts a specifier; a line with one it cannot resolve is
                    # dropped whole (modelled for every specifier but %%).
                    if [[ ${assignment//%%/} == *%* ]]; then
                        printf '%s: Failed to resolve specifiers in %s, ignoring\n' "$file" "$assignment" >> "$STANDIN_DIR/containerd.log"
                        continue
                    fi
                    assignment=${assignment//%%/%}
                    export "${assignment?}"
                    ;;
            esac
        done < "$file"
    done
    if [ -n "${STANDIN_BREAK:-}" ] && ls "$dropin_dir"/*.conf >/dev/null 2>&1; then
        cp "$config" "$STANDIN_DIR/broken.toml" 2>/dev/null || printf 'version = 2\n' > "$STANDIN_DIR/broken.toml"
        if [ "$STANDIN_BREAK" = cri ]; then
            printf '\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."standin.invalid"]\n  endpoint = ["http://127.0.0.1:9"]\n' >> "$STANDIN_DIR/broken.toml"
        else
            printf '\nthis is not toml\n' >> "$STANDIN_DIR/broken.toml"
        fi
        args=(--config "$STANDIN_DIR/broken.toml")
    fi
    mkdir -p "$STANDIN_CONTAINERD_DIR"
    setsid containerd "${args[@]+"${args[@]}"}" --address "$CONTAINERD_ADDRESS" \
        --root "$STANDIN_CONTAINERD_DIR/root" --state "$STANDIN_CONTAINERD_DIR/state" \
        </dev/null >>"$STANDIN_DIR/containerd.log" 2>&1 9>&- &
    pid=$!
    printf '%s' "$pid" > "$STANDIN_DIR/containerd.pid"
    for i in $(seq 200); do
        if ! alive "$pid"; then
            echo "Job for containerd.service failed because the control process exited with error code." >&2
            return 1
        fi
        if ctr --address "$CONTAINERD_ADDRESS" version >/dev/null 2>&1; then
            return 0
        fi
        [ "$i" = 200 ] || sleep 0.05
    done
    echo "Job for containerd.service timed out." >&2
    return 1
}

restart_docker() {
    if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' /etc/docker/daemon.json 2>"$STANDIN_DIR/docker.log" ||
        [ ! -e /etc/docker/daemon.json ]; then
        echo running > "$STANDIN_DIR/docker.state"
        return 0
    fi
    echo failed > "$STANDIN_DIR/docker.state"
    echo "Job for docker.service failed because the control process exited with error code." >&2
    return 1
}

case $name in
    journalctl)
        tail -n 15 "$STANDIN_DIR/containerd.log" 2>/dev/null || true
        ;;
    docker)
        if [ "${1:-}" = info ] && [ "$(cat "$STANDIN_DIR/docker.state" 2>/dev/null)" = running ]; then
            echo "Server Version: stand-in"
            exit 0
        fi
        echo "Cannot connect to the Docker daemon. $(cat "$STANDIN_DIR/docker.log" 2>/dev/null)" >&2
        exit 1
        ;;
    systemctl)
        verb=${1:-}
        shift || true
        if [ "${1:-}" = --quiet ]; then
            shift
        fi
        unit=${1:-}
        unit=${unit%.service}
        case $verb/$unit in
            daemon-reload/*) ;;
            restart/containerd)
                if [ -n "${STANDIN_KILL_CALLER:-}" ]; then
                    # The caller is killed (SIGKILL) at this point: an interrupted run.
                    kill -9 "$PPID"
                    exit 1
                fi
                # A slow node (benchmarks): its restart takes STANDIN_SLOW_RESTART seconds more.
                sleep "${STANDIN_SLOW_RESTART:-0}"
                stop_containerd
                start_containerd
                ;;
            stop/containerd) stop_containerd ;;
            restart/docker) restart_docker ;;
            is-active/containerd) containerd_pid >/dev/null ;;
            is-active/docker) [ "$(cat "$STANDIN_DIR/docker.state" 2>/dev/null)" = running ] ;;
            *) echo "systemctl stand-in: $verb $unit is not simulated" >&2; exit 1 ;;
        esac
        ;;
    *)
        echo "stand-in called as $name" >&2
        exit 1
        ;;
esac
