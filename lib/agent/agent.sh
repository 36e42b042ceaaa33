#!/bin/sh
# dragonfly-cce node agent: the entrypoint of the agent's DaemonSet (docs/agent.md, "The
# entrypoint"). It runs in a busybox container (hostPID, privileged) and configures its node with
# the very scripts the SSH path runs: everything that touches the node runs on the node, in PID 1's
# mount, UTS, IPC and network namespaces, with the node's own bash and curl.
#
# 1. Installs apply.sh and restore.sh under /var/lib/dragonfly-cce/agent on the node.
# 2. Runs apply.sh there (the proxy credentials, when there are any, on its stdin).
# 3. Success: the summary line, the status ConfigMap, then the ready file. Failure: no ready file, the
#    script's error, a retry after 30 s.
# 4. Runs the apply again every RESYNC_SECONDS.
# 5. SIGTERM: restores the node only when its DaemonSet is being deleted; otherwise undoes nothing.
set -eu

MOUNT=/etc/dragonfly-agent
READY=/tmp/dragonfly-agent-ready
STATE_DIR=/var/lib/dragonfly-cce
NODE_DIR=$STATE_DIR/agent
SERVICE_ACCOUNT=/var/run/secrets/kubernetes.io/serviceaccount
RETRY_SECONDS=30
WORK=/tmp/dragonfly-agent

log() {
    printf 'dragonfly-cce-agent: %s\n' "$*"
}

fail() {
    printf 'dragonfly-cce-agent: %s\n' "$*" >&2
    exit 1
}

# A name that goes into a URL and a JSON key: what Kubernetes allows in object names.
check_name() {
    case $2 in
        '' | *[!a-z0-9.-]*) fail "$1 must be a Kubernetes object name, got '$2' (the DaemonSet sets it)" ;;
    esac
}

check_name NODE_NAME "${NODE_NAME:-}"
check_name POD_NAMESPACE "${POD_NAMESPACE:-}"
check_name AGENT_DAEMONSET "${AGENT_DAEMONSET:-}"
check_name AGENT_STATUS_CONFIGMAP "${AGENT_STATUS_CONFIGMAP:-}"
case ${RESYNC_SECONDS:-} in
    '' | *[!0-9]*) RESYNC_SECONDS=0 ;;
esac
if [ "$RESYNC_SECONDS" -lt 1 ]; then
    fail "RESYNC_SECONDS must be a whole number of seconds above 0 (the DaemonSet sets it)"
fi
if [ -z "${KUBERNETES_SERVICE_HOST:-}" ] || [ -z "${KUBERNETES_SERVICE_PORT:-}" ]; then
    fail "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: the API server cannot be asked"
fi
API_HOST=$KUBERNETES_SERVICE_HOST
case $API_HOST in
    *:*) API_HOST="[$API_HOST]" ;;
esac
API="https://$API_HOST:$KUBERNETES_SERVICE_PORT"
# This container's files as the node sees them (hostPID): the node's curl reads the CA there.
OWN_ROOT=/proc/$$/root

# Runs a command on the node: PID 1 is the node's init (hostPID).
on_node() {
    nsenter -t 1 -m -u -i -n -- "$@"
}

# Writes NAME from the Secret to the node's NODE_DIR (0700, temp file and rename); a file that
# already holds the same bytes is left alone.
install_script() {
    # shellcheck disable=SC2016 # expanded by the node's bash
    on_node bash -c '
        set -euo pipefail
        umask 077
        mkdir -p "$1" "$2"
        chmod 0700 "$1" "$2"
        tmp=$(mktemp "$2/.$3.XXXXXX")
        trap '\''rm -f "$tmp"'\'' EXIT
        cat > "$tmp"
        if cmp -s "$tmp" "$2/$3"; then
            chmod 0700 "$2/$3"
        else
            chmod 0700 "$tmp"
            mv -f "$tmp" "$2/$3"
        fi' install "$STATE_DIR" "$NODE_DIR" "$1" < "$MOUNT/$1"
}

# TEXT as the inside of a JSON string: backslashes, quotes, tabs and line ends escaped, other
# control characters dropped.
json_text() {
    printf '%s' "$1" | tr -d '\000-\010\013\014\016-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' |
        awk '{ printf "%s%s", sep, $0; sep = "\\n" }'
}

# One request to the API server with this pod's token, through the node's curl: the token,
# the URL and the CA path travel in a curl config on stdin, never on a command line. Sets
# API_STATUS (000 when the server could not be asked) and leaves the body in $WORK/body.
api() {
    method=$1 path=$2 data=${3:-}
    token=$(cat "$SERVICE_ACCOUNT/token") || {
        API_STATUS=000
        return 0
    }
    {
        printf 'url = "%s%s"\n' "$API" "$path"
        printf 'request = "%s"\n' "$method"
        printf 'header = "Authorization: Bearer %s"\n' "$token"
        printf 'header = "Accept: application/json"\n'
        printf 'user-agent = "dragonfly-cce-agent"\n'
        printf 'cacert = "%s%s/ca.crt"\n' "$OWN_ROOT" "$SERVICE_ACCOUNT"
        if [ -n "$data" ]; then
            printf 'header = "Content-Type: application/merge-patch+json"\n'
            printf 'data-binary = "@%s%s"\n' "$OWN_ROOT" "$data"
        fi
        printf 'silent\nshow-error\nconnect-timeout = 10\nmax-time = 30\n'
        printf 'write-out = "\\n%%{http_code}"\n'
    } | on_node curl -K - > "$WORK/response" 2> "$WORK/curl-error" || true
    API_STATUS=$(tail -n 1 "$WORK/response")
    sed '$d' "$WORK/response" > "$WORK/body"
    case $API_STATUS in
        [1-5][0-9][0-9]) ;;
        *) API_STATUS=000 ;;
    esac
}

# Sets this node's entry of the status ConfigMap to LINE, or removes it (no LINE).
patch_status() {
    if [ -n "${1:-}" ]; then
        value="\"$(json_text "$1")\""
    else
        value=null
    fi
    printf '{"data":{"%s":%s}}' "$NODE_NAME" "$value" > "$WORK/patch.json"
    api PATCH "/api/v1/namespaces/$POD_NAMESPACE/configmaps/$AGENT_STATUS_CONFIGMAP" "$WORK/patch.json"
    if [ "$API_STATUS" != 200 ]; then
        log "warning: could not update ConfigMap $POD_NAMESPACE/$AGENT_STATUS_CONFIGMAP (HTTP $API_STATUS): $(cat "$WORK/curl-error" "$WORK/body")" >&2
    fi
}

# Installs the scripts and runs the apply on the node. Returns non-zero when the node is not
# configured.
apply_node() {
    credentials=/dev/null
    if [ -e "$MOUNT/proxy-credentials" ]; then
        credentials=$MOUNT/proxy-credentials
    fi
    : > "$WORK/out"
    if install_script apply.sh 2> "$WORK/err" && install_script restore.sh 2>> "$WORK/err" &&
        on_node bash "$NODE_DIR/apply.sh" < "$credentials" > "$WORK/out" 2>> "$WORK/err"; then
        summary=$(grep '^dragonfly-cce: changed=' "$WORK/out" | tail -n 1) || true
        if [ -n "$summary" ]; then
            cat "$WORK/err" >&2
            printf '%s\n' "$summary"
            # The status first: the stack reads it once the DaemonSet is Ready (agentNodes).
            patch_status "$summary"
            : > "$READY"
            return 0
        fi
        echo "the apply script printed no summary line" >> "$WORK/err"
    fi
    rm -f "$READY"
    error=$(cat "$WORK/err")
    printf 'dragonfly-cce-agent: apply failed on node %s: %s\n' "$NODE_NAME" "$error" >&2
    patch_status "failed: $error"
    return 1
}

# The DaemonSet is being deleted (destroy, enabled: false): put the node back and say so.
restore_node() {
    if ! on_node test -e "$NODE_DIR/restore.sh"; then
        install_script restore.sh
    fi
    if ! on_node bash "$NODE_DIR/restore.sh" < /dev/null > "$WORK/out" 2> "$WORK/err"; then
        printf 'dragonfly-cce-agent: restore failed on node %s (the node keeps %s/restore.sh): %s\n' \
            "$NODE_NAME" "$NODE_DIR" "$(cat "$WORK/err")" >&2
        exit 1
    fi
    cat "$WORK/err" >&2
    cat "$WORK/out"
    # The node is as it was before the first apply: the scripts go too.
    on_node rm -rf "$NODE_DIR"
    on_node rmdir "$STATE_DIR" 2> /dev/null || true
    patch_status ""
    log "node $NODE_NAME restored"
}

# SIGTERM: restore only when the DaemonSet is gone or has a deletionTimestamp; anything else (the
# DaemonSet is there, or the API server cannot be asked) undoes nothing.
terminate() {
    trap '' TERM
    if [ -n "$sleeper" ]; then
        kill "$sleeper" 2> /dev/null || true
    fi
    rm -f "$READY"
    ds="$POD_NAMESPACE/$AGENT_DAEMONSET"
    api GET "/apis/apps/v1/namespaces/$POD_NAMESPACE/daemonsets/$AGENT_DAEMONSET"
    deleted=no
    if [ "$API_STATUS" = 404 ] && grep -q '"reason":"NotFound"' "$WORK/body"; then
        deleted="DaemonSet $ds is gone"
    elif [ "$API_STATUS" = 200 ] && grep -q '[^\\]"deletionTimestamp": *"' "$WORK/body"; then
        deleted="DaemonSet $ds is being deleted"
    fi
    if [ "$deleted" != no ]; then
        log "SIGTERM: $deleted: restoring node $NODE_NAME"
        restore_node
    elif [ "$API_STATUS" = 200 ]; then
        log "SIGTERM: DaemonSet $ds exists (an update, a restart or an eviction): node $NODE_NAME keeps its configuration"
    else
        log "SIGTERM: could not ask the API server whether DaemonSet $ds is being deleted (HTTP $API_STATUS: $(cat "$WORK/curl-error" "$WORK/body")): nothing is undone on node $NODE_NAME; if the stack was being destroyed, run $NODE_DIR/restore.sh on the node" >&2
    fi
    exit 0
}

# Runs apply_node in the background and waits for it: SIGTERM makes `wait` return early (above
# 128) while the apply goes on, and an apply is never cut in half.
apply_round() {
    applying=yes
    apply_node &
    round=$!
    while :; do
        if wait "$round"; then
            status=0
        else
            status=$?
        fi
        if [ "$status" -le 128 ] || ! kill -0 "$round" 2> /dev/null; then
            break
        fi
    done
    applying=no
    return "$status"
}

# SIGTERM: handled at once while the agent waits; during an apply, once the apply has finished.
on_sigterm() {
    if [ "$applying" = yes ]; then
        term_pending=yes
    else
        terminate
    fi
}

mkdir -p "$WORK"
rm -f "$READY"
sleeper=
applying=no
term_pending=no
trap on_sigterm TERM
log "node $NODE_NAME, DaemonSet $POD_NAMESPACE/$AGENT_DAEMONSET, resync every ${RESYNC_SECONDS}s"
while :; do
    wait_seconds=$RESYNC_SECONDS
    apply_round || wait_seconds=$RETRY_SECONDS
    if [ "$term_pending" = yes ]; then
        terminate
    fi
    # sleep in the background: wait returns at once when SIGTERM arrives.
    sleep "$wait_seconds" &
    sleeper=$!
    wait "$sleeper" || true
    sleeper=
done
