# Follows containerd-toml.awk (-v hosts="h1 h2"): prints the file with
# registry.configs."H".tls.insecure_skip_verify = true for each host H (the Dragonfly proxy
# intercepts their HTTPS). An existing key is switched in place; an existing [table] gets the
# key; otherwise the table is appended.
END {
    count = split(hosts, hs, " ")
    for (j = 1; j <= count; j++) {
        T = R ".configs." canon(hs[j]) ".tls"
        K = T ".insecure_skip_verify"
        if (K in keyline) {
            if (keyval[K] != "true") repl[keyline[K]] = keyhead[K] "= true"
        } else if (T in header) {
            h = header[T]
            after[h] = after[h] indent_of(h) "  insecure_skip_verify = true\n"
        } else {
            # Appending [T] is not valid when a key below T exists, or T sits in an inline table.
            for (k in keyline) {
                if (starts(k, T) || (starts(T, k) && k != T && (k in inline))) {
                    refuse("it sets " k " as a key; write " T " as a [table] section")
                }
            }
            tail = tail "\n[" T "]\n  insecure_skip_verify = true\n"
        }
    }
    emit()
}
