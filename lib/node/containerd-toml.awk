# Reads a containerd config.toml (POSIX awk: nodes have no python3) for the writers that follow it
# on the awk command line (containerd-toml-inspect.awk, containerd-toml-migrate.awk;
# containerd-toml-emit.awk with -tls.awk, -drop.awk or -config-path.awk):
#
#   line[n]        every line, to print back unchanged
#   tables[t]      every [table] and [[array]] header; header[t] the line of a [table]
#   keyline[k]     the line of each key (full dotted name, canonical quoting), keyval[k] its
#                  value without quotes or comment, keyhead[k] the text up to "=", keytable[k]
#                  the [table] it stands in, inline[k] when its value is an inline table
#   blank          1 when the file has no keys or tables
#   crlf           1 when lines end with CR LF (parsed without the CR; edits keep the ending)
#   cr[n]          1 when line n ends with CR
#   version, P, R  the file's version, its CRI images plugin table and P ".registry":
#                  version 3 (containerd 2.x) plugins."io.containerd.cri.v1.images"; version 2
#                  and an empty file (the writers add version = 2) plugins."io.containerd.grpc.v1.cri";
#                  version 1 or none (containerd 1.x reads both as version 1) plugins.cri
#
# The editing writers also load containerd-toml-emit.awk.
# A file it cannot read safely, or an edit that cannot be made safely, exits 3 with the
# reason on stdout (refuse).
function canon(p) {
    return (p ~ /^[A-Za-z0-9_-]+$/) ? p : "\"" p "\""
}
# Parses a (dotted) TOML key at the start of s into KEY (canonical form) and REST.
function parse_key(s,    c, i, n, part, out) {
    out = ""
    n = 0
    while (1) {
        sub(/^[ \t]+/, "", s)
        c = substr(s, 1, 1)
        if (c == "\"") {
            part = ""
            for (i = 2; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == "\\") { part = part substr(s, i, 2); i++; continue }
                if (c == "\"") break
                part = part c
            }
            if (i > length(s)) return 0
            s = substr(s, i + 1)
        } else if (c == "'") {
            i = index(substr(s, 2), "'")
            if (i == 0) return 0
            part = substr(s, 2, i - 1)
            s = substr(s, i + 2)
        } else if (match(s, /^[A-Za-z0-9_-]+/)) {
            part = substr(s, 1, RLENGTH)
            s = substr(s, RLENGTH + 1)
        } else {
            return 0
        }
        out = (n++ ? out "." : "") canon(part)
        sub(/^[ \t]+/, "", s)
        if (substr(s, 1, 1) != ".") break
        s = substr(s, 2)
    }
    KEY = out
    REST = s
    return 1
}
# Net count of [ minus ] outside strings and comments.
function brackets(s,    i, c, q, d) {
    d = 0
    q = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q != "") {
            if (c == "\\" && q == "\"") { i++; continue }
            if (c == q) q = ""
            continue
        }
        if (c == "\"" || c == "'") q = c
        else if (c == "#") break
        else if (c == "[") d++
        else if (c == "]") d--
    }
    return d
}
function strip_value(v) {
    sub(/^[ \t]+/, "", v)
    if (v ~ /^"/) { v = substr(v, 2); sub(/".*$/, "", v); return v }
    if (v ~ /^'/) { v = substr(v, 2); sub(/'.*$/, "", v); return v }
    sub(/[ \t]*(#.*)?$/, "", v)
    return v
}
function starts(s, p) {
    return s == p || substr(s, 1, length(p) + 1) == p "."
}
function refuse(msg) {
    print msg
    failed = 1
    exit 3
}
BEGIN {
    table = ""; in_ml = ""; depth = 0; blank = 1; failed = 0; tail = ""; crlf = 0
    # Arrays, so that a file without keys or tables loops over nothing (POSIX).
    split("", line); split("", tables); split("", header); split("", keyline); split("", keyval)
    split("", keyhead); split("", keytable); split("", inline); split("", repl); split("", after)
    split("", cr); split("", drop)
}
{
    line[NR] = $0
    if (substr($0, length($0)) == "\r") {
        cr[NR] = 1
        crlf = 1
        $0 = substr($0, 1, length($0) - 1)
    }
    if (in_ml != "") {
        t = $0
        if (gsub(in_ml, "", t) % 2 == 1) in_ml = ""
        next
    }
    if (depth > 0) { depth += brackets($0); next }
    src = $0
    sub(/^[ \t]+/, "", src)
    if (src == "" || substr(src, 1, 1) == "#") next
    blank = 0
    if (substr(src, 1, 1) == "[") {
        arr = substr(src, 2, 1) == "["
        if (!parse_key(substr(src, arr ? 3 : 2)) || substr(REST, 1, 1) != "]") refuse("cannot read the table header on line " NR)
        table = KEY
        if (!arr) header[table] = NR
        tables[table] = 1
        next
    }
    if (!parse_key(src) || substr(REST, 1, 1) != "=") next
    full = (table == "" ? KEY : table "." KEY)
    val = substr(REST, 2)
    keyline[full] = NR
    keytable[full] = table
    keyval[full] = strip_value(val)
    keyhead[full] = substr($0, 1, length($0) - length(REST))
    value = val
    sub(/^[ \t]+/, "", value)
    if (substr(value, 1, 1) == "{") inline[full] = 1
    t = value
    if (substr(value, 1, 3) == "\"\"\"" && gsub(/"""/, "", t) % 2 == 1) in_ml = "\"\"\""
    t = value
    if (substr(value, 1, 3) == "'''" && gsub(/'''/, "", t) % 2 == 1) in_ml = "'''"
    if (substr(value, 1, 1) == "[") depth = brackets(value)
}
END {
    if (failed) exit 3
    version = ("version" in keyval) ? keyval["version"] : ""
    if (version == "3") P = "plugins.\"io.containerd.cri.v1.images\""
    else if (version == "2" || blank) P = "plugins.\"io.containerd.grpc.v1.cri\""
    else P = "plugins.cri"
    R = P ".registry"
}
