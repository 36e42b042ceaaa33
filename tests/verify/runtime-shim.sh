#!/usr/bin/env bash
# crictl / docker shim: records calls; "pull" makes the metrics servers in SHIM_SERVE count a
# proxied pull (SHIM_MODE=through), counts nothing (direct) or fails (fail); then it breaks the
# metrics servers in SHIM_BREAK (their metrics fail from then on).
set -euo pipefail
# store_blob NAME SIZE KIND: SIZE bytes made from NAME into containerd's content store (real
# ctr), labelled as a layer (containerd.io/uncompressed, as containerd's unpacker does) for KIND layer.
store_blob() {
    local file="$SHIM_DIR/blob-$1" digest
    { printf '%s\n' "$1"; head -c "$2" /dev/zero; } > "$file"
    truncate -s "$2" "$file"
    digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
    if ! ctr -n k8s.io content ls -q | grep -qx "$digest"; then
        ctr -n k8s.io content ingest --expected-digest "$digest" --expected-size "$2" "ingest-$1" < "$file"
    fi
    if [ "$3" = layer ]; then ctr -n k8s.io content label "$digest" "containerd.io/uncompressed=$digest" > /dev/null; fi
}
case $1 in
    preload)
        # Test set-up only (not a crictl command): blobs already in the store before the pull.
        for blob in $SHIM_LAYERS; do store_blob "${blob%=*}" "${blob#*=}" layer; done
        exit 0
        ;;
esac
printf '%s\n' "$(basename "$0") $*" >> "$SHIM_DIR/calls.log"
case $1 in
    inspecti) [ -e "$SHIM_DIR/present" ] ;;
    image) [ "$2" = inspect ] && [ -e "$SHIM_DIR/present" ] ;;
    rmi)
        if [ -e "$SHIM_DIR/in-use" ]; then echo "image is in use by container abc" >&2; exit 1; fi
        rm "$SHIM_DIR/present"
        ;;
    pull)
        # Other traffic through the proxy while the pull runs (another node's requests).
        for url in $SHIM_NOISE; do curl -fsS -X POST "$url" > /dev/null; done
        # The blobs the pull stores in containerd's content store: each layer "NAME=SIZE", and a
        # manifest (not a layer).
        for blob in $SHIM_LAYERS; do store_blob "${blob%=*}" "${blob#*=}" layer; done
        if [ -n "$SHIM_LAYERS" ]; then store_blob "manifest-${SHIM_LAYERS// /-}" 1200 manifest; fi
        case $SHIM_MODE in
            through) for url in $SHIM_SERVE; do curl -fsS -X POST "$url" > /dev/null; done ;;
            direct) ;;
            fail) echo "rpc error: code = Unknown desc = failed to resolve reference: not found" >&2; exit 1 ;;
        esac
        for url in $SHIM_BREAK; do curl -fsS -X POST "$url" > /dev/null; done
        : > "$SHIM_DIR/present"
        echo "Image is up to date for sha256:0123"
        ;;
esac
