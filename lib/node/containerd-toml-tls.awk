# Follows containerd-toml.awk (-v hosts="h1 h2" -v tls_key=K -v tls_value=V [-v tls_off=O]):
# prints the file with registry.configs."H".tls.K = V for each host H (the Dragonfly proxy
# intercepts their HTTPS): K is insecure_skip_verify (V true), or ca_file (V the quoted path of
# the proxy's CA).
# An existing key is switched in place; an existing [table] gets the key; otherwise the table is
# appended. With tls_off=O, an O = true in the same table is switched to false (a hand-set
# insecure_skip_verify would otherwise switch the CA check off).
END {
    # keyval holds strings without their quotes
    want = (tls_value ~ /^"/) ? substr(tls_value, 2, length(tls_value) - 2) : tls_value
    count = split(hosts, hs, " ")
    for (j = 1; j <= count; j++) {
        T = R ".configs." canon(hs[j]) ".tls"
        K = T "." tls_key
        if (K in keyline) {
            if (keyval[K] != want) repl[keyline[K]] = keyhead[K] "= " tls_value
        } else if (T in header) {
            h = header[T]
            after[h] = after[h] indent_of(h) "  " tls_key " = " tls_value "\n"
        } else {
            # Appending [T] is not valid when a key below T exists, or T sits in an inline table.
            for (k in keyline) {
                if (starts(k, T) || (starts(T, k) && k != T && (k in inline))) {
                    refuse("it sets " k " as a key; write " T " as a [table] section")
                }
            }
            tail = tail "\n[" T "]\n  " tls_key " = " tls_value "\n"
        }
        O = T "." tls_off
        if (tls_off != "" && (O in keyline) && keyval[O] == "true") repl[keyline[O]] = keyhead[O] "= false"
    }
    emit()
}
