# Follows containerd-toml.awk: what mirror mode moves from config.toml into hosts.toml files,
# one fact a line (hosts without quotes):
#   mirror HOST URL        an endpoint of registry.mirrors."HOST".endpoint, in order
#   tls HOST KEY VALUE     registry.configs."HOST".tls.KEY (insecure_skip_verify, ca_file,
#                          cert_file, key_file)
#   drop N                 line N goes from config.toml (the tables' headers and keys)
#   refuse TABLE REASON    a setting that cannot be moved safely
function unquote(s) {
    gsub(/"/, "", s)
    return s
}
function host_of(rest) {
    if (match(rest, /^("[^"]*"|[^.]+)/)) return substr(rest, 1, RLENGTH)
    return rest
}
END {
    M = R ".mirrors"
    C = R ".configs"
    for (k in keyline) {
        if (starts(k, M) && k != M) {
            h = host_of(substr(k, length(M) + 2))
            key = substr(k, length(M) + length(h) + 3)
            if (key != "endpoint") {
                print "refuse " M "." h " it sets " (key == "" ? "the table as a value" : key) ", which hosts.toml has no place for"
                continue
            }
            ev = substr(line[keyline[k]], length(keyhead[k]) + 2)
            if (brackets(ev) != 0 || ev !~ /^[ \t]*\[/) {
                print "refuse " M "." h " its endpoint list is not a one-line list of strings"
                continue
            }
            while (match(ev, /"[^"]*"/)) {
                print "mirror " unquote(h) " " substr(ev, RSTART + 1, RLENGTH - 2)
                ev = substr(ev, RSTART + RLENGTH)
            }
            print "drop " keyline[k]
        } else if (starts(k, C) && (k ~ /\.tls\./ || k ~ /\.tls$/)) {
            h = host_of(substr(k, length(C) + 2))
            key = substr(k, length(C) + length(h) + 7)
            if (key != "insecure_skip_verify" && key != "ca_file" && key != "cert_file" && key != "key_file") {
                print "refuse " C "." h ".tls it sets " (key == "" ? "tls as a value" : key) ", which dragonfly-cce does not move"
                continue
            }
            if (key == "insecure_skip_verify" && keyval[k] != "true" && keyval[k] != "false") {
                print "refuse " C "." h ".tls its insecure_skip_verify is not true or false"
                continue
            }
            print "tls " unquote(h) " " key " " keyval[k]
            print "drop " keyline[k]
        }
    }
    for (k in header) {
        if (starts(k, M) && k != M) {
            h = host_of(substr(k, length(M) + 2))
            if (k != M "." h) print "refuse " k " it is a table below a mirror, which hosts.toml has no place for"
            else print "drop " header[k]
        } else if (starts(k, C) && k ~ /\.tls$/) {
            print "drop " header[k]
        } else if (starts(k, C) && k ~ /\.tls\./) {
            print "refuse " k " it is a table below tls, which dragonfly-cce does not move"
        }
    }
}
