# Follows containerd-toml.awk (-v dir=PATH): prints the file with registry.config_path = PATH
# when it is unset or empty (mirror mode: containerd reads PATH/<host>/hosts.toml).
END {
    K = R ".config_path"
    if (K in keyline) {
        if (keyval[K] == "") repl[keyline[K]] = keyhead[K] "= \"" dir "\""
    } else if (R in header) {
        h = header[R]
        after[h] = after[h] indent_of(h) "  config_path = \"" dir "\"\n"
    } else {
        # R defined through dotted keys written in a table above it (keys under R's own
        # sub-tables, e.g. [R.configs."host".auth], do not count): [R] cannot be appended, so
        # config_path joins them as one more dotted key after the first of them.
        h = 0
        for (k in keyline) {
            if (starts(k, R) && !starts(keytable[k], R) && (h == 0 || keyline[k] < h)) {
                h = keyline[k]
                t = keytable[k]
            }
        }
        if (h) {
            after[h] = after[h] indent_of(h) ((t == "") ? K : substr(K, length(t) + 2)) " = \"" dir "\"\n"
        } else {
            tail = "\n[" R "]\n  config_path = \"" dir "\"\n"
        }
    }
    emit()
}
