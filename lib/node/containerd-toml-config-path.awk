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
        # Appending [R] is valid unless R is already defined through dotted keys written in a
        # table above it (keys under R's own sub-tables, e.g. [R.configs."host".auth], are fine).
        for (k in keyline) {
            if (starts(k, R) && !starts(keytable[k], R)) {
                refuse("it sets " k " as a dotted key; write " R " as a [table] section")
            }
        }
        tail = "\n[" R "]\n  config_path = \"" dir "\"\n"
    }
    emit()
}
