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

# The blobs in containerd's content store (the CRI's namespace k8s.io), one digest a line, sorted.
content_digests() {
    ctr -n k8s.io content ls -q | sort
}

# The blobs that containerd's unpacker labelled as layers (containerd.io/uncompressed), one
# digest a line, sorted. `content ls` prints DIGEST SIZE AGE LABELS, the labels last.
layer_digests() {
    ctr -n k8s.io content ls | awk 'NR > 1 && $NF ~ /(^|,)containerd[.]io[/]uncompressed=/ { print $1 }' | sort
}

# The exact size of one blob: `content ls` rounds sizes (3MB), and containerd 1.6's ctr has no
# `content info`.
blob_bytes() {
    ctr -n k8s.io content get "$1" | wc -c
}

# The bytes of the image layers this pull fetched: the blobs that are new in the content store
# since $WORK/content.before and are layers. Manifests and the config are left out: they are
# small, and Dragonfly's proxy rules may send manifests straight to the registry.
fetched_layer_bytes() {
    local digest size total=0
    content_digests > "$WORK/content.after" || return 1
    layer_digests > "$WORK/layers" || return 1
    while IFS= read -r digest; do
        size=$(blob_bytes "$digest") || return 1
        total=$((total + size))
    done < <(comm -13 "$WORK/content.before" "$WORK/content.after" | comm -12 - "$WORK/layers")
    printf '%s\n' "$total"
}

main() {
    local before after removed=false start end seconds out delta layers_known=false layer_bytes=null
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
    # What containerd holds before the pull, to measure the layer bytes the pull fetches.
    if [ "$RUNTIME" = containerd ] && command -v ctr > /dev/null 2>&1 && content_digests > "$WORK/content.before" 2> /dev/null; then
        layers_known=true
    else
        note "cannot measure the layer bytes the pull fetches (Docker, or no ctr): the proof only requires the clients to download something during the pull"
    fi
    start=$(date +%s%N)
    if ! out=$(pull_image 2>&1); then
        die "pulling $IMAGE with $RUNTIME failed: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
    fi
    end=$(date +%s%N)
    if [ "$layers_known" = true ] && ! layer_bytes=$(fetched_layer_bytes 2> /dev/null); then
        note "cannot read containerd's content store after the pull (ctr content): the proof only requires the clients to download something during the pull"
        layer_bytes=null
    fi
    read_sources_again
    after=$(awk "$COUNTERS_AWK" "$WORK/metrics")
    seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) / 1000000000 }')
    # Deltas; a counter that went down (client restarted) counts from zero.
    delta=$(printf '%s\n%s\n' "$before" "$after" | awk '
        NR == 1 { for (i = 1; i <= 4; i++) b[i] = $i; next }
        { for (i = 1; i <= 4; i++) { d = $i - b[i]; if (d < 0) d = $i; printf "%.0f ", d }; print $5 }')
    local proxy remote local_peer source has_traffic through=false traffic=null downloaded required=1
    read -r proxy remote local_peer source has_traffic <<< "$delta"
    downloaded=$((remote + local_peer + source))
    if [ "$layer_bytes" != null ] && [ "$layer_bytes" -gt 0 ]; then
        required=$layer_bytes
    fi
    # Tied to this pull: the proxy saw requests AND the clients downloaded at least the layer
    # bytes this pull fetched. Other requests through the proxy move the request counter only.
    if [ "$proxy" -gt 0 ] && [ "$has_traffic" = 1 ] && [ "$downloaded" -ge "$required" ]; then
        through=true
    fi
    if [ "$has_traffic" = 1 ]; then
        traffic="{\"remotePeer\":$remote,\"localPeer\":$local_peer,\"backToSource\":$source}"
    fi
    printf '%s{"image":%s,"node":%s,"runtime":"%s","pullSeconds":%s,"removedPreviousCopy":%s,"throughDragonfly":%s,"proxyRequests":%s,"traffic":%s,"layerBytes":%s,"metricsSources":%s}\n' \
        "$OUTPUT_PREFIX" "$IMAGE_JSON" "$NODE_JSON" "$RUNTIME" "$seconds" "$removed" "$through" "$proxy" "$traffic" "$layer_bytes" "${#SOURCES[@]}"
    if [ "$proxy" -eq 0 ]; then
        die "the pull of $IMAGE did NOT go through Dragonfly: the client's dragonfly_client_proxy_request_total did not move (read from ${SOURCES[*]}). $RUNTIME pulled straight from the registry: check that the registry host (port included) is in the registries list, that it is not covered by NO_PROXY, and that $RUNTIME was restarted after the change. With a LoadBalancer endpoint the request may have reached another node's client: list the metrics URLs of the Dragonfly nodes in verify.metricsUrls."
    elif [ "$has_traffic" != 1 ]; then
        die "cannot tie the pull of $IMAGE to Dragonfly: the clients at ${SOURCES[*]} serve no dragonfly_client_download_traffic, and their request counter alone also moves for other requests through the proxy. Check that the metrics URLs are those of Dragonfly clients (port 4002)."
    elif [ "$through" != true ]; then
        die "the pull of $IMAGE did NOT go through Dragonfly: the clients downloaded $downloaded bytes during the pull but the pull fetched $required bytes of layers; the requests the proxy counted were other traffic, and $RUNTIME pulled this image straight from the registry. Check that the registry host (port included) is in the registries list, that it is not covered by NO_PROXY, and that $RUNTIME was restarted after the change; with a LoadBalancer endpoint, list the metrics URLs of every Dragonfly node in verify.metricsUrls."
    fi
}

main "$@"
