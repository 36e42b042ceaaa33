# Follows containerd-toml.awk (-v lines="N M ..." -v hosts="h1 h2"): prints the file without
# - the lines listed (the registry tables mirror mode moved into hosts.toml files), and
# - the [registry.configs."H".tls] tables that containerd-toml-tls.awk appended for each host H:
#   the header, its one insecure_skip_verify = true line and the blank line before it. A table
#   that holds anything else (a key someone added to it) stays, and mirror mode then names it.
END {
    count = split(lines, ls, " ")
    for (j = 1; j <= count; j++) drop[ls[j]] = 1
    count = split(hosts, hs, " ")
    for (j = 1; j <= count; j++) {
        T = R ".configs." canon(hs[j]) ".tls"
        K = T ".insecure_skip_verify"
        if (!(T in header) || !(K in keyline) || keyline[K] != header[T] + 1 || keyval[K] != "true") continue
        mine = 1
        for (k in keyline) if (k != K && starts(k, T)) mine = 0
        for (k in tables) if (k != T && starts(k, T)) mine = 0
        next_line = header[T] + 2
        if (next_line <= NR && line[next_line] !~ /^[ \t\r]*([[#].*)?$/) mine = 0
        if (!mine) continue
        drop[header[T]] = 1
        drop[header[T] + 1] = 1
        if (header[T] > 1 && line[header[T] - 1] ~ /^\r?$/) drop[header[T] - 1] = 1
    }
    # (indent_of is for the writers that add lines; this one only drops them.)
    if (0) indent_of(1)
    emit()
}
