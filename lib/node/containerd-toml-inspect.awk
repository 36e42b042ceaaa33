# Follows containerd-toml.awk: prints the facts the apply script needs, one key=value a line:
#   version      the file's version (empty when unset)
#   blank        1 when the file has no keys or tables
#   config_path  registry.config_path (empty when unset or empty)
#   mirrors      1 when registry.mirrors is used
#   tls          1 when any registry.configs.*.tls is set
#   inline       a key whose inline table we cannot edit safely (empty when none)
END {
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
    print "config_path=" (((R ".config_path") in keyval) ? keyval[R ".config_path"] : "")
    print "mirrors=" mirrors
    print "tls=" tls
    print "inline=" bad
}
