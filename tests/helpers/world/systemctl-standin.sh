#!/usr/bin/env bash
# systemctl stand-in for the pull-path test world's node (no systemd runs on the test machine).
# It is bind-mounted over /usr/bin/systemctl inside the node's own mount namespace only.
#
# - Every call is appended to /run/systemctl-standin/calls.log (the restart count comes from it).
# - daemon-reload snapshots the Environment= lines of containerd.service.d/*.conf, like systemd
#   reads drop-ins only on daemon-reload: a script that forgets it keeps the old environment.
# - start/restart run Debian's real /usr/bin/containerd with a clean environment plus that
#   snapshot (as systemd does), and return once containerd answers on its socket (Type=notify).
set -euo pipefail

state=/run/systemctl-standin
mkdir -p "$state"
printf '%s\n' "$*" >>"$state/calls.log"

dropins=/etc/systemd/system/containerd.service.d

daemon_reload() {
    local f line rest
    : >"$state/containerd.env.new"
    for f in "$dropins"/*.conf; do
        [ -e "$f" ] || continue
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in
                Environment=*)
                    rest=${line#Environment=}
                    if [ -z "$rest" ]; then
                        : >"$state/containerd.env.new"
                    else
                        printf '%s' "$rest" | xargs -n1 printf '%s\n' >>"$state/containerd.env.new"
                    fi
                    ;;
            esac
        done <"$f"
    done
    mv "$state/containerd.env.new" "$state/containerd.env"
}

pid_running() {
    local pid=$1 st
    [ -r "/proc/$pid/stat" ] || return 1
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$st" ] && [ "$st" != "Z" ] && [ "$st" != "X" ]
}

running() {
    local pid
    [ -f "$state/containerd.pid" ] || return 1
    pid=$(cat "$state/containerd.pid")
    pid_running "$pid"
}

stop_containerd() {
    local pid i
    running || return 0
    pid=$(cat "$state/containerd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        pid_running "$pid" || break
        if [ "$i" -eq 100 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        sleep 0.1
    done
    rm -f "$state/containerd.pid"
}

start_containerd() {
    local pid e
    running && return 0
    [ -f "$state/containerd.env" ] || daemon_reload
    local -a envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
    while IFS= read -r e; do
        [ -n "$e" ] && envs+=("$e")
    done <"$state/containerd.env"
    printf '%s\n' "--- start $(date +%s.%N) env: ${envs[*]}" >>"$state/containerd.log"
    # Like systemd: a clean environment and no file descriptors of the caller (a caller's lock
    # file descriptor must not end up held by the daemon).
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then
                eval "exec $fd>&-"
            fi
        done
        exec setsid env -i "${envs[@]}" /usr/bin/containerd </dev/null >>"$state/containerd.log" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$state/containerd.pid"
    for _ in $(seq 1 150); do
        if ! pid_running "$pid"; then
            echo "Job for containerd.service failed because the control process exited with error code." >&2
            tail -n 5 "$state/containerd.log" >&2
            return 1
        fi
        if ctr version >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "Job for containerd.service failed: containerd did not become ready." >&2
    return 1
}

unit=""
verb=""
for arg in "$@"; do
    case "$arg" in
        -*) ;;
        *)
            if [ -z "$verb" ]; then verb=$arg; elif [ -z "$unit" ]; then unit=${arg%.service}; fi
            ;;
    esac
done

if [ "$verb" = "daemon-reload" ]; then
    daemon_reload
    exit 0
fi
if [ "$unit" != "containerd" ]; then
    exit 0
fi
case "$verb" in
    start) start_containerd ;;
    stop) stop_containerd ;;
    restart | reload-or-restart | try-restart)
        stop_containerd
        start_containerd
        ;;
    is-active)
        if running; then echo active; else
            echo inactive
            exit 3
        fi
        ;;
    status)
        if running; then echo "containerd.service - active (running) since stand-in start"; else
            echo "containerd.service - inactive (dead)"
            exit 3
        fi
        ;;
    *) exit 0 ;;
esac
