# shellcheck shell=bash disable=SC2154
# The verification script's body (see lib/verify/script.ts). Follows the generated header, which
# sets IMAGE, IMAGE_JSON, NODE_JSON, RUNTIME, METRICS_URLS, PULL_TIMEOUT, OUTPUT_PREFIX and
# COUNTERS_AWK (lib/verify/metrics.awk).
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The metrics URLs read before the pull; exactly these are read after it.
SOURCES=()

die() {
    printf 'dragonfly-cce verify: %s\n' "$*" >&2
    exit 1
}

note() {
    printf 'dragonfly-cce verify: note: %s\n' "$*" >&2
}

# This node's own addresses, one a line: a URL naming one of them reaches this node's client.
own_addresses() {
    printf '%s\n' localhost ::1
    if command -v ip > /dev/null 2>&1; then
        ip -o addr show 2> /dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' || true
    fi
}
OWN_ADDRESSES=$(own_addresses)

# Prints which client a URL reaches: "this-node:PORT" when its host is this node (one client
# per port), else the URL itself.
client_of() {
    local url=$1 authority host port
    authority=${url#*://}
    authority=${authority%%/*}
    if [[ $authority == \[* ]]; then
        host=${authority%%]*}
        host=${host#[}
        port=${authority#*]}
    else
        host=${authority%%:*}
        port=${authority#"$host"}
    fi
    port=${port#:}
    if [ -z "$port" ]; then
        if [[ $url == https:* ]]; then port=443; else port=80; fi
    fi
    if [[ $host == 127.* ]] || { [ -n "$host" ] && grep -qixF -e "$host" <<< "$OWN_ADDRESSES"; }; then
        printf 'this-node:%s\n' "$port"
    else
        printf '%s\n' "$url"
    fi
}

# Reads one URL's metrics and appends them to $WORK/metrics; fails (curl's message in
# $WORK/curl.err) when they cannot be read.
fetch_metrics() {
    curl -fsS --connect-timeout 5 --max-time 10 "$1" > "$WORK/one" 2> "$WORK/curl.err" || return 1
    cat "$WORK/one" >> "$WORK/metrics"
    printf '\n' >> "$WORK/metrics"
}

curl_error() {
    tr '\n' ' ' < "$WORK/curl.err"
}

# Before the pull: reads every URL it can into $WORK/metrics and records them in SOURCES.
read_sources() {
    local url client seen=" "
    : > "$WORK/metrics"
    for url in "${METRICS_URLS[@]}"; do
        client=$(client_of "$url")
        if [[ $seen == *" $client "* ]]; then
            note "skipping $url: it reaches a Dragonfly client already read (this node's own client under another address); it would count twice"
        elif fetch_metrics "$url"; then
            SOURCES+=("$url")
            seen+="$client "
        else
            note "skipping $url: cannot read the Dragonfly client metrics there ($(curl_error)); no Dragonfly client on that node?"
        fi
    done
    if [ "${#SOURCES[@]}" -eq 0 ]; then
        die "cannot read the Dragonfly client metrics at any of ${METRICS_URLS[*]}. The Dragonfly clients (DaemonSet dragonfly-client, hostNetwork) serve their metrics on port 4002 of the Dragonfly node pool's nodes only: list those nodes' metrics URLs (http://NODE-IP:4002/metrics) in verify.metricsUrls, and check that the verifying node can reach them."
    fi
}

# After the pull: reads exactly the URLs read before into $WORK/metrics.
read_sources_again() {
    local url
    : > "$WORK/metrics"
    for url in "${SOURCES[@]}"; do
        if ! fetch_metrics "$url"; then
            die "cannot read the Dragonfly client metrics at $url after the pull although it was read before ($(curl_error)). Without it the counters would give a wrong delta; run the verification again (did the dragonfly-client pod restart?)."
        fi
    done
}

image_present() {
    if [ "$RUNTIME" = containerd ]; then
        crictl inspecti "$IMAGE" > /dev/null 2>&1
    else
        docker image inspect "$IMAGE" > /dev/null 2>&1
    fi
}

remove_image() {
    local out
    if [ "$RUNTIME" = containerd ]; then
        out=$(crictl rmi "$IMAGE" 2>&1) || die "cannot remove the local copy of $IMAGE (a running container may use it; verify with an image no container on this node uses): $out"
    else
        out=$(docker rmi "$IMAGE" 2>&1) || die "cannot remove the local copy of $IMAGE (a container may use it; verify with an image no container on this node uses): $out"
    fi
}

pull_image() {
    if [ "$RUNTIME" = containerd ]; then
        timeout "$PULL_TIMEOUT" crictl pull "$IMAGE"
    else
        timeout "$PULL_TIMEOUT" docker pull "$IMAGE"
    fi
}

main() {
    local before after removed=false start end seconds out delta
    if [ "$RUNTIME" = containerd ]; then
        command -v crictl > /dev/null 2>&1 || die "crictl not found: it is needed to pull through the CRI like the kubelet does"
    else
        command -v docker > /dev/null 2>&1 || die "docker not found"
    fi
    command -v curl > /dev/null 2>&1 || die "curl not found: it is needed to read the Dragonfly client metrics"
    read_sources
    before=$(awk "$COUNTERS_AWK" "$WORK/metrics")
    if image_present; then
        remove_image
        removed=true
    fi
    start=$(date +%s%N)
    if ! out=$(pull_image 2>&1); then
        die "pulling $IMAGE with $RUNTIME failed: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
    fi
    end=$(date +%s%N)
    read_sources_again
    after=$(awk "$COUNTERS_AWK" "$WORK/metrics")
    seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) / 1000000000 }')
    # Deltas; a counter that went down (client restarted) counts from zero.
    delta=$(printf '%s\n%s\n' "$before" "$after" | awk '
        NR == 1 { for (i = 1; i <= 4; i++) b[i] = $i; next }
        { for (i = 1; i <= 4; i++) { d = $i - b[i]; if (d < 0) d = $i; printf "%.0f ", d }; print $5 }')
    local proxy remote local_peer source has_traffic through=false traffic=null
    read -r proxy remote local_peer source has_traffic <<< "$delta"
    if [ "$proxy" -gt 0 ]; then
        through=true
    fi
    if [ "$has_traffic" = 1 ]; then
        traffic="{\"remotePeer\":$remote,\"localPeer\":$local_peer,\"backToSource\":$source}"
    fi
    printf '%s{"image":%s,"node":%s,"runtime":"%s","pullSeconds":%s,"removedPreviousCopy":%s,"throughDragonfly":%s,"proxyRequests":%s,"traffic":%s,"metricsSources":%s}\n' \
        "$OUTPUT_PREFIX" "$IMAGE_JSON" "$NODE_JSON" "$RUNTIME" "$seconds" "$removed" "$through" "$proxy" "$traffic" "${#SOURCES[@]}"
    if [ "$through" != true ]; then
        die "the pull of $IMAGE did NOT go through Dragonfly: the client's dragonfly_client_proxy_request_total did not move (read from ${SOURCES[*]}). $RUNTIME pulled straight from the registry: check that the registry host (port included) is in the registries list, that it is not covered by NO_PROXY, and that $RUNTIME was restarted after the change. With a LoadBalancer endpoint the request may have reached another node's client: list the metrics URLs of the Dragonfly nodes in verify.metricsUrls."
    fi
}

main "$@"
