# Merges registry hosts into the top-level `insecure-registries` list of Docker's daemon.json
# (-v regs="h1 h2"), keeping every other byte of the file. The whole file is one record. Exits 3
# with the reason on stdout when the file is not a JSON object or the key is not a list.
# POSIX awk (nodes have no python3 or jq).
function refuse(msg) { print msg; failed = 1; exit 3 }
function skip_ws(str, at) {
    while (at <= length(str) && substr(str, at, 1) ~ /[ \t\r\n]/) at++
    return at
}
# Returns the index just after the string that starts at i (a double quote).
function end_string(str, at,    ch) {
    for (at++; at <= length(str); at++) {
        ch = substr(str, at, 1)
        if (ch == "\\") { at++; continue }
        if (ch == "\"") return at + 1
    }
    refuse("daemon.json has an unterminated string")
}
BEGIN { text = ""; failed = 0; split("", have) }
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
