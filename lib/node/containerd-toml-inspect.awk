# Follows containerd-toml.awk: prints the facts the apply script needs, one key=value a line:
#   version      the file's version (empty when unset)
#   blank        1 when the file has no keys or tables
#   registry     the registry table the writers edit (R)
#   config_path  registry.config_path (empty when unset or empty)
#   mirrors      the first registry.mirrors."<host>" with settings (empty when none: containerd
#                takes an empty [registry.mirrors] table together with config_path)
#   tls          the first registry.configs."<host>".tls (empty when none)
#   inline       a key whose inline table we cannot edit safely (empty when none)
#   crlf         1 when the file's lines end with CR LF
#   tls_tables   the hosts H with a [registry.configs."H".tls] table, space-separated
# The first ones by line, so that messages name the same table on every run.
function host_table(key, base,    rest) {
    rest = substr(key, length(base) + 2)
    if (match(rest, /^("[^"]*"|[^.]+)/)) return base "." substr(rest, 1, RLENGTH)
    return base
}
function note(kind, name, at) {
    if (first[kind] == "" || at < first_at[kind]) {
        first[kind] = name
        first_at[kind] = at
    }
}
END {
    split("", first); split("", first_at)
    first["mirrors"] = ""; first_at["mirrors"] = 0; first["tls"] = ""; first_at["tls"] = 0
    bad = ""
    for (k in tables) {
        if (starts(k, R ".mirrors") && k != R ".mirrors") note("mirrors", host_table(k, R ".mirrors"), (k in header) ? header[k] : 0)
        if (starts(k, R ".configs") && (k ~ /\.tls$/ || k ~ /\.tls\./)) note("tls", host_table(k, R ".configs") ".tls", (k in header) ? header[k] : 0)
    }
    for (k in keyline) {
        if (starts(k, R ".mirrors") && k != R ".mirrors") note("mirrors", host_table(k, R ".mirrors"), keyline[k])
        if (starts(k, R ".configs") && (k ~ /\.tls\./ || k ~ /\.tls$/)) note("tls", host_table(k, R ".configs") ".tls", keyline[k])
        if (k in inline && (starts(R, k) || starts(k, R ".configs") || starts(k, R ".mirrors"))) bad = k
    }
    print "version=" version
    print "blank=" blank
    print "registry=" R
    print "config_path=" (((R ".config_path") in keyval) ? keyval[R ".config_path"] : "")
    print "mirrors=" first["mirrors"]
    print "tls=" first["tls"]
    print "inline=" bad
    print "crlf=" crlf
    hosts = ""
    for (k in header) {
        if (starts(k, R ".configs") && k ~ /\.tls$/) {
            h = substr(k, length(R ".configs") + 2)
            h = substr(h, 1, length(h) - 4)
            gsub(/"/, "", h)
            hosts = hosts (hosts == "" ? "" : " ") h
        }
    }
    print "tls_tables=" hosts
}
