/**
 * awk programs embedded in the node scripts. They are POSIX awk (tested with mawk; nodes have
 * gawk), because nodes do not have python3 or jq.
 */

/**
 * Reads a containerd `config.toml` line by line and either describes it (`action=inspect`) or
 * prints it with our edits (`action=tls`, `action=config_path`). Lines it does not edit are
 * printed exactly as they were.
 *
 * inspect prints `key=value` facts: version, blank (1 when the file has no keys or tables),
 * config_path_set, config_path, mirrors (1 when registry.mirrors is used), tls (1 when any
 * registry.configs.*.tls is set), inline (a key whose inline table we cannot edit safely).
 *
 * tls (`-v hosts="h1 h2"`): makes `registry.configs."H".tls.insecure_skip_verify = true`.
 * config_path (`-v dir=PATH`): sets `registry.config_path` when it is unset or empty.
 * An edit that cannot be made safely exits 3 with the reason on stdout.
 */
export const TOML_AWK = String.raw`
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
BEGIN { table = ""; in_ml = ""; depth = 0; blank = 1 }
{
    line[NR] = $0
    if (in_ml != "") {
        t = $0
        if (gsub(in_ml, "", t) % 2 == 1) in_ml = ""
        next
    }
    if (depth > 0) { depth += brackets($0); next }
    s = $0
    sub(/^[ \t]+/, "", s)
    if (s == "" || substr(s, 1, 1) == "#") next
    blank = 0
    if (substr(s, 1, 1) == "[") {
        arr = substr(s, 2, 1) == "["
        if (!parse_key(substr(s, arr ? 3 : 2)) || substr(REST, 1, 1) != "]") refuse("cannot read the table header on line " NR)
        table = KEY
        if (!arr) header[table] = NR
        tables[table] = 1
        next
    }
    if (!parse_key(s) || substr(REST, 1, 1) != "=") next
    full = (table == "" ? KEY : table "." KEY)
    val = substr(REST, 2)
    keyline[full] = NR
    keyval[full] = strip_value(val)
    keyhead[full] = substr($0, 1, length($0) - length(REST))
    v = val
    sub(/^[ \t]+/, "", v)
    if (substr(v, 1, 1) == "{") inline[full] = 1
    t = v
    if (substr(v, 1, 3) == "\"\"\"" && gsub(/"""/, "", t) % 2 == 1) in_ml = "\"\"\""
    t = v
    if (substr(v, 1, 3) == "'''" && gsub(/'''/, "", t) % 2 == 1) in_ml = "'''"
    if (substr(v, 1, 1) == "[") depth = brackets(v)
}
function indent_of(n,    s) {
    s = line[n]
    match(s, /^[ \t]*/)
    return substr(s, 1, RLENGTH)
}
function emit(    i) {
    if (blank && !("version" in keyline)) print "version = 2"
    for (i = 1; i <= NR; i++) {
        print (i in repl) ? repl[i] : line[i]
        if (i in after) printf "%s", after[i]
    }
    printf "%s", tail
}
END {
    if (failed) exit 3
    version = keyval["version"]
    P = (version == "3") ? "plugins.\"io.containerd.cri.v1.images\"" : "plugins.\"io.containerd.grpc.v1.cri\""
    R = P ".registry"
    if (action == "inspect") {
        mirrors = 0; tls = 0; bad = ""
        for (k in tables) {
            if (starts(k, R ".mirrors")) mirrors = 1
            if (starts(k, R ".configs") && (k ~ /\.tls$/ || k ~ /\.tls\./)) tls = 1
        }
        for (k in keyline) {
            if (starts(k, R ".mirrors")) mirrors = 1
            if (starts(k, R ".configs") && (k ~ /\.tls\./ || k ~ /\.tls$/)) tls = 1
            if (k in inline && (starts(R, k) || starts(k, R ".configs") || starts(k, R ".mirrors"))) bad = k
        }
        print "version=" version
        print "blank=" blank
        print "config_path_set=" ((R ".config_path") in keyline ? 1 : 0)
        print "config_path=" keyval[R ".config_path"]
        print "mirrors=" mirrors
        print "tls=" tls
        print "inline=" bad
        exit 0
    }
    tail = ""
    if (action == "tls") {
        n = split(hosts, hs, " ")
        for (j = 1; j <= n; j++) {
            T = R ".configs." canon(hs[j]) ".tls"
            K = T ".insecure_skip_verify"
            if (K in keyline) {
                if (keyval[K] != "true") repl[keyline[K]] = keyhead[K] "= true"
            } else if (T in header) {
                h = header[T]
                after[h] = after[h] indent_of(h) "  insecure_skip_verify = true\n"
            } else {
                for (k in keyline) if (starts(k, T) || starts(T, k) && k != T && (k in inline)) refuse("it sets " k " as a key; write " T " as a [table] section")
                tail = tail "\n[" T "]\n  insecure_skip_verify = true\n"
            }
        }
    } else if (action == "config_path") {
        K = R ".config_path"
        if (K in keyline) {
            if (keyval[K] == "") repl[keyline[K]] = keyhead[K] "= \"" dir "\""
        } else if (R in header) {
            h = header[R]
            after[h] = after[h] indent_of(h) "  config_path = \"" dir "\"\n"
        } else {
            for (k in keyline) if (starts(k, R)) refuse("it sets " k " as a dotted key; write " R " as a [table] section")
            tail = "\n[" R "]\n  config_path = \"" dir "\"\n"
        }
    } else {
        refuse("unknown action " action)
    }
    emit()
}
`;

/**
 * Merges registry hosts into the top-level `insecure-registries` list of Docker's
 * `daemon.json` (`-v regs="h1 h2"`), keeping every other byte of the file. The whole file is
 * one record. Exits 3 with the reason on stdout when the file is not a JSON object or the key
 * is not a list.
 */
export const JSON_AWK = String.raw`
function refuse(msg) { print msg; failed = 1; exit 3 }
function skip_ws(s, i) {
    while (i <= length(s) && substr(s, i, 1) ~ /[ \t\r\n]/) i++
    return i
}
# Returns the index just after the string that starts at i (a double quote).
function end_string(s, i,    c) {
    for (i++; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") { i++; continue }
        if (c == "\"") return i + 1
    }
    refuse("daemon.json has an unterminated string")
}
{ text = (NR == 1) ? $0 : text "\n" $0 }
END {
    if (failed) exit 3
    n = split(regs, want, " ")
    i = skip_ws(text, 1)
    if (i > length(text)) {
        out = "{\n  \"insecure-registries\": ["
        for (j = 1; j <= n; j++) out = out (j > 1 ? ", " : "") "\"" want[j] "\""
        print out "]\n}"
        exit 0
    }
    if (substr(text, i, 1) != "{") refuse("daemon.json is not a JSON object")
    open = i
    depth = 0
    members = 0
    arr_start = 0
    arr_end = 0
    expect_key = 1
    for (; i <= length(text); i++) {
        c = substr(text, i, 1)
        if (c == "\"") {
            e = end_string(text, i)
            if (depth == 1 && expect_key) {
                key = substr(text, i + 1, e - i - 2)
                members++
                k = skip_ws(text, e)
                if (substr(text, k, 1) != ":") refuse("daemon.json: expected : after \"" key "\"")
                expect_key = 0
                if (key == "insecure-registries") {
                    v = skip_ws(text, k + 1)
                    if (substr(text, v, 1) != "[") refuse("daemon.json: insecure-registries is not a list")
                    arr_start = v
                }
                i = k
                continue
            }
            if (depth == 2 && arr_start && !arr_end) have[substr(text, i + 1, e - i - 2)] = 1
            i = e - 1
            continue
        }
        if (c == "{" || c == "[") depth++
        else if (c == "}" || c == "]") {
            depth--
            if (depth == 1 && arr_start && !arr_end && c == "]") arr_end = i
            if (depth == 0) break
        } else if (c == "," && depth == 1) expect_key = 1
    }
    if (depth != 0) refuse("daemon.json is not valid JSON (unbalanced brackets)")
    if (skip_ws(text, i + 1) <= length(text)) refuse("daemon.json has text after the JSON object")
    add = ""
    for (j = 1; j <= n; j++) if (!(want[j] in have)) add = add (add == "" ? "" : ", ") "\"" want[j] "\""
    if (add == "") { print text; exit 0 }
    if (arr_start) {
        inner = substr(text, arr_start + 1, arr_end - arr_start - 1)
        sep = (inner ~ /[^ \t\r\n]/) ? ", " : ""
        print substr(text, 1, arr_end - 1) sep add substr(text, arr_end)
    } else {
        print substr(text, 1, open) "\n  \"insecure-registries\": [" add "]" (members ? "," : "\n") substr(text, open + 1)
    }
}
`;
