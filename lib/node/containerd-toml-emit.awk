# Follows containerd-toml.awk, for the editing writers: emit() prints the file without the lines
# in drop[n], with repl[n] (replaced lines), after[n] (text added after line n) and tail (text added at the end), each
# with the file's line ending (CR LF files stay CR LF).
function indent_of(n,    s) {
    s = line[n]
    match(s, /^[ \t]*/)
    return substr(s, 1, RLENGTH)
}
function eol(s) {
    if (crlf) gsub(/\n/, "\r\n", s)
    return s
}
function emit(    i) {
    if (blank && !("version" in keyline)) printf "%s", eol("version = 2\n")
    for (i = 1; i <= NR; i++) {
        if (i in drop) continue
        print (i in repl) ? repl[i] ((i in cr) ? "\r" : "") : line[i]
        if (i in after) printf "%s", eol(after[i])
    }
    printf "%s", eol(tail)
}
