# Sums the Dragonfly client counters of a Prometheus text exposition.
# Prints: proxy_requests remote_peer local_peer back_to_source has_traffic
BEGIN { proxy = 0; remote = 0; local_peer = 0; source = 0; has_traffic = 0 }
/^[ \t]*#/ || NF == 0 { next }
{
    line = $0
    sub(/^[ \t]+/, "", line)
    if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { next }
    name = substr(line, 1, RLENGTH)
    rest = substr(line, RLENGTH + 1)
    labels = ""
    if (substr(rest, 1, 1) == "{") {
        close_at = index(rest, "}")
        if (close_at == 0) { next }
        labels = substr(rest, 2, close_at - 2)
        rest = substr(rest, close_at + 1)
    }
    n = split(rest, field, " ")
    if (n < 1) { next }
    value = field[1] + 0
    if (name == "dragonfly_client_proxy_request_total") {
        proxy += value
    } else if (name == "dragonfly_client_download_traffic") {
        has_traffic = 1
        type = ""
        if (match(labels, /(^|,)[ \t]*type[ \t]*=[ \t]*"[^"]*"/)) {
            type = substr(labels, RSTART, RLENGTH)
            sub(/^.*type[ \t]*=[ \t]*"/, "", type)
            sub(/"$/, "", type)
        }
        type = toupper(type)
        if (type == "REMOTE_PEER") { remote += value }
        else if (type == "LOCAL_PEER") { local_peer += value }
        else if (type == "BACK_TO_SOURCE") { source += value }
    }
}
END { printf "%.0f %.0f %.0f %.0f %d\n", proxy, remote, local_peer, source, has_traffic }
