# Follows containerd-toml.awk, for the editing writers: emit() prints the file with repl[n]
# (replaced lines), after[n] (text added after line n) and tail (text added at the end).
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
