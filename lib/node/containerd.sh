# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# containerd edits for the apply script (containerd nodes only): config.toml through the awk
# programs, hosts.toml for mirror mode and config_path, the proxy CA, the imports check.

# Is HOST one of the registries Dragonfly routes?
routed() {
    local registry
    for registry in ${REGISTRIES[@]+"${REGISTRIES[@]}"}; do
        if [ "$registry" = "$1" ]; then
            return 0
        fi
    done
    return 1
}

# The host a registry's pulls really go to: images name docker.io, containerd fetches from
# registry-1.docker.io (and looks registry.configs up by that host).
endpoint_host() {
    case $1 in
        docker.io) echo registry-1.docker.io ;;
        *) echo "$1" ;;
    esac
}

registry_url() {
    echo "https://$(endpoint_host "$1")"
}

# hosts.toml for HOST in mirror mode: pulls go to the Dragonfly endpoint, which fetches from
# the registry named in X-Dragonfly-Registry.
plan_mirror_hosts() {
    local host=$1 dir=$2 upstream
    upstream=$(registry_url "$host")
    plan_hosts "$dir/$host/hosts.toml"
    {
        printf '# Managed by dragonfly-cce: pulls of %s go through Dragonfly.\n' "$host"
        printf 'server = "%s"\n' "$upstream"
        server_tls "$host" "$dir"
        printf '\n[host."%s"]\n' "$ENDPOINT"
        printf '  capabilities = ["pull", "resolve"]\n\n'
        printf '  [host."%s".header]\n' "$ENDPOINT"
        printf '    X-Dragonfly-Registry = "%s"\n' "$upstream"
        migrated_mirrors "$host"
    } > "$PLANNED"
}

# Registry settings moved from config.toml (mirror mode; see migrate_registry_tables).
declare -A MIGRATED_MIRRORS=() MIGRATED_TLS=()
MIGRATED_HOSTS=()

# The hosts.toml keys of HOST's migrated TLS settings (INDENT before each).
migrated_tls() {
    local host=$1 indent=$2 cert key
    if [ -n "${MIGRATED_TLS[$host insecure_skip_verify]:-}" ]; then
        printf '%sskip_verify = %s\n' "$indent" "${MIGRATED_TLS[$host insecure_skip_verify]}"
    fi
    if [ -n "${MIGRATED_TLS[$host ca_file]:-}" ]; then
        printf '%sca = "%s"\n' "$indent" "${MIGRATED_TLS[$host ca_file]}"
    fi
    cert=${MIGRATED_TLS[$host cert_file]:-}
    key=${MIGRATED_TLS[$host key_file]:-}
    if [ -n "$cert" ] && [ -n "$key" ]; then
        printf '%sclient = [["%s", "%s"]]\n' "$indent" "$cert" "$key"
    elif [ -n "$cert" ]; then
        printf '%sclient = "%s"\n' "$indent" "$cert"
    fi
}

# The TLS keys of the server of HOST's hosts.toml under DIR: the settings moved from
# config.toml, and the Docker-style files of HOST's directory (see registry_dir), which
# containerd reads only while that directory has no hosts.toml: every *.crt is a CA, every
# *.cert a client certificate with the *.key of the same name (without one, the .cert file
# holds the key too). Restore removes hosts.toml, and containerd reads the files again.
server_tls() {
    local host=$1 dir=$2 tls_host file cas=() clients=() cert key source
    tls_host=$(endpoint_host "$host")
    source=$(registry_dir "$host" "$dir")
    if [ "$source" != "$dir/$host" ] && [ -e "$source/hosts.toml" ]; then
        die "$source/hosts.toml configures $host, and config_path lists ${source%/*} after $dir, so the $dir/$host/hosts.toml that dragonfly-cce would write hides it. Move its settings elsewhere and remove the file, or remove $host from registries, then run again. Nothing was changed."
    fi
    for file in "$source"/*.crt "$source"/*.cert; do
        if [ ! -f "$file" ]; then
            continue
        fi
        case $file in
            *[\"\\]* | *[[:cntrl:]]*) die "$file: a certificate file whose name has a quote, backslash or control character, which hosts.toml cannot name as it is. containerd stops reading such files once dragonfly-cce writes ${file%/*}/hosts.toml; rename the file, then run again. Nothing was changed." ;;
            *.crt) cas+=("\"$file\"") ;;
            *.cert)
                key=${file%.cert}.key
                if [ ! -f "$key" ]; then
                    key=
                fi
                clients+=("[\"$file\", \"$key\"]")
                ;;
        esac
    done
    if [ "${#cas[@]}" -eq 0 ] && [ "${#clients[@]}" -eq 0 ]; then
        migrated_tls "$tls_host" ''
        return 0
    fi
    if [ -n "${MIGRATED_TLS[$tls_host insecure_skip_verify]:-}" ]; then
        printf 'skip_verify = %s\n' "${MIGRATED_TLS[$tls_host insecure_skip_verify]}"
    fi
    if [ -n "${MIGRATED_TLS[$tls_host ca_file]:-}" ]; then
        cas=("\"${MIGRATED_TLS[$tls_host ca_file]}\"" ${cas[@]+"${cas[@]}"})
    fi
    cert=${MIGRATED_TLS[$tls_host cert_file]:-}
    if [ -n "$cert" ]; then
        clients=("[\"$cert\", \"${MIGRATED_TLS[$tls_host key_file]:-}\"]" ${clients[@]+"${clients[@]}"})
    fi
    if [ "${#cas[@]}" -gt 0 ]; then
        printf 'ca = [%s]\n' "$(toml_items "${cas[@]}")"
    fi
    if [ "${#clients[@]}" -gt 0 ]; then
        printf 'client = [%s]\n' "$(toml_items "${clients[@]}")"
    fi
}

# The directory containerd reads HOST's settings from: the first directory of config_path (DIR
# when config.toml sets none) that has one for HOST.
registry_dir() {
    local host=$1 dir=$2 root roots
    IFS=: read -ra roots <<< "${TOML_CONFIG_PATH:-$dir}"
    for root in "${roots[@]}"; do
        if [ -d "$root/$host" ]; then
            printf '%s' "$root/$host"
            return 0
        fi
    done
    printf '%s' "$dir/$host"
}

# The items of a TOML array, separated by ", ".
toml_items() {
    local out='' item
    for item in "$@"; do
        out+=${out:+, }$item
    done
    printf '%s' "$out"
}

# HOST's migrated mirror endpoints as [host] entries, in their order (the server is the last resort).
migrated_mirrors() {
    local host=$1 url upstream mirrors
    upstream=$(registry_url "$host")
    read -ra mirrors <<< "${MIGRATED_MIRRORS[$host]:-}"
    for url in ${mirrors[@]+"${mirrors[@]}"}; do
        if [ "${url%/}" = "$upstream" ]; then
            continue
        fi
        printf '\n[host."%s"]\n' "$url"
        printf '  capabilities = ["pull", "resolve"]\n'
        url=${url#*://}
        migrated_tls "${url%%/*}" '  '
    done
}

# hosts.toml for a registry that config.toml configured and that Dragonfly does not route.
plan_migrated_hosts() {
    local host=$1 dir=$2
    plan_hosts "$dir/$host/hosts.toml"
    {
        printf '# Moved here by dragonfly-cce from %s (mirror mode needs config_path).\n' "$CONTAINERD_CONFIG"
        printf 'server = "%s"\n' "$(registry_url "$host")"
        server_tls "$host" "$dir"
        migrated_mirrors "$host"
    } > "$PLANNED"
}

# Mirror mode: reads the registry.mirrors."H" and registry.configs."H".tls settings of BASE into
# MIGRATED_*, and takes them out of BASE (the hosts.toml files written later carry them, in the
# same run, so that both change together and restore gives back the original file). What cannot
# be moved safely is refused, naming the table.
migrate_registry_tables() {
    local base=$1 facts kind host rest drops=() out=$WORK/config.migrated known
    facts=$(awk "$AWK_TOML_READ$AWK_TOML_MIGRATE" "$base") || die "cannot read $CONTAINERD_CONFIG: $facts"
    while IFS=' ' read -r kind host rest; do
        case $kind in
            refuse) die "$CONTAINERD_CONFIG sets $host: ${rest}. Mirror mode needs config_path, which containerd refuses together with that table: move its settings into $DEFAULT_HOSTS_DIR/<host>/hosts.toml by hand (or use runtimeMode proxy), then run again. The file was not changed." ;;
            mirror) MIGRATED_MIRRORS[$host]="${MIGRATED_MIRRORS[$host]:-} $rest" ;;
            tls) MIGRATED_TLS[$host ${rest%% *}]=${rest#* } ;;
            drop) drops+=("$host") ;;
        esac
        if [ "$kind" = mirror ] || [ "$kind" = tls ]; then
            # Images name docker.io; its TLS table is registry-1.docker.io's.
            if [ "$host" = registry-1.docker.io ]; then
                host=docker.io
            fi
            known=" ${MIGRATED_HOSTS[*]+${MIGRATED_HOSTS[*]}} "
            case $known in
                *" $host "*) ;;
                *) MIGRATED_HOSTS+=("$host") ;;
            esac
        fi
    done <<< "$facts"
    if ! awk -v lines="${drops[*]}" -v hosts= "$AWK_TOML_READ$AWK_TOML_DROP" "$base" > "$out"; then
        die "cannot move the registry tables out of $CONTAINERD_CONFIG: $(cat "$out"). The file was not changed."
    fi
    cat "$out" > "$base"
    inspect_toml "$base"
}

plan_mirror_default() {
    local dir=$1
    plan_hosts "$dir/_default/hosts.toml"
    {
        printf '# Managed by dragonfly-cce: pulls from every other registry go through Dragonfly.\n'
        server_tls _default "$dir"
        printf '[host."%s"]\n' "$ENDPOINT"
        printf '  capabilities = ["pull", "resolve"]\n'
    } > "$PLANNED"
}

# Proxy mode when config.toml uses config_path: skip verification in the registry's hosts.toml
# (containerd refuses registry.configs.*.tls together with config_path).
plan_skip_verify_hosts() {
    local host=$1 dir=$2 upstream
    upstream=$(registry_url "$host")
    plan_hosts "$dir/$host/hosts.toml"
    {
        printf '# Managed by dragonfly-cce: the Dragonfly proxy intercepts HTTPS for %s.\n' "$host"
        printf 'server = "%s"\n\n' "$upstream"
        printf '[host."%s"]\n' "$upstream"
        printf '  capabilities = ["pull", "resolve"]\n'
        if [ -n "$PROXY_CA" ]; then
            printf '  ca = "%s"\n' "$PROXY_CA_FILE"
        else
            printf '  skip_verify = true\n'
        fi
    } > "$PLANNED"
}

# proxy.ca: the CA certificate file the TLS settings name.
write_proxy_ca() {
    printf '%s\n' "$PROXY_CA" > "$WORK/proxy-ca.crt"
    install_file "$PROXY_CA_FILE" "$WORK/proxy-ca.crt" 0644
}

# hosts.toml files this run writes: paths and the files holding their new text.
hosts_paths=()
hosts_sources=()

# Adds PATH to the hosts.toml files to write; PLANNED is the file its text goes to.
plan_hosts() {
    PLANNED=$WORK/hosts.${#hosts_paths[@]}
    hosts_paths+=("$1")
    hosts_sources+=("$PLANNED")
}

# Refuses, before anything is written, a hosts.toml that someone else wrote (it may hold a
# ca, client certificate or Authorization header that a rewrite would lose). One that already
# says exactly what ours would is adopted.
check_planned_hosts() {
    local i path
    for i in "${!hosts_paths[@]}"; do
        path=${hosts_paths[i]}
        if [ -e "$path" ] && ! managed "$path" && ! cmp -s "$path" "${hosts_sources[i]}"; then
            die "$path exists and was not written by dragonfly-cce; writing it would replace its settings (ca, client, skip_verify, header). Put them into the registry's configuration elsewhere and remove the file, or remove ${path%/hosts.toml} from registries, then run again. Nothing was changed."
        fi
    done
}

install_planned_hosts() {
    local i
    for i in "${!hosts_paths[@]}"; do
        install_file "${hosts_paths[i]}" "${hosts_sources[i]}" 0644
    done
}

# Reads the facts of a config.toml (see containerd-toml-inspect.awk) into TOML_* variables.
inspect_toml() {
    local facts key value
    facts=$(awk "$AWK_TOML_READ$AWK_TOML_INSPECT" "$1") || die "cannot read $CONTAINERD_CONFIG: $facts"
    TOML_VERSION='' TOML_REGISTRY='' TOML_CONFIG_PATH='' TOML_MIRRORS='' TOML_TLS='' TOML_INLINE=''
    TOML_TLS_TABLES=''
    while IFS='=' read -r key value; do
        case $key in
            version) TOML_VERSION=$value ;;
            registry) TOML_REGISTRY=$value ;;
            config_path) TOML_CONFIG_PATH=$value ;;
            mirrors) TOML_MIRRORS=$value ;;
            tls) TOML_TLS=$value ;;
            inline) TOML_INLINE=$value ;;
            tls_tables) TOML_TLS_TABLES=$value ;;
        esac
    done <<< "$facts"
}

# Mirror mode from a file someone changed after our proxy-mode apply: the registry.configs.*.tls
# tables that apply appended (absent from the original file) are ours to take out, not the
# user's to move.
drop_our_tls() {
    local base=$1 original=$WORK/config.original out=$WORK/config.untls theirs host hosts ours=()
    if [ -f "$BACKUP_DIR/files$CONTAINERD_CONFIG" ]; then
        cat "$BACKUP_DIR/files$CONTAINERD_CONFIG" > "$original"
    else
        : > "$original"
    fi
    theirs=" $(awk "$AWK_TOML_READ$AWK_TOML_INSPECT" "$original" | sed -n 's/^tls_tables=//p') "
    read -ra hosts <<< "$TOML_TLS_TABLES"
    for host in ${hosts[@]+"${hosts[@]}"}; do
        case $theirs in
            *" $host "*) ;;
            *) ours+=("$host") ;;
        esac
    done
    if [ "${#ours[@]}" -gt 0 ]; then
        if ! awk -v lines= -v hosts="${ours[*]}" "$AWK_TOML_READ$AWK_TOML_DROP" "$base" > "$out"; then
            die "cannot take dragonfly-cce's TLS settings out of $CONTAINERD_CONFIG: $(cat "$out"). The file was not changed."
        fi
        cat "$out" > "$base"
        inspect_toml "$base"
    fi
}

configure_containerd() {
    local base=$WORK/config.base out=$WORK/config.toml registry table hosts_dir conflict tls_hosts=()
    local tls=(-v tls_key=insecure_skip_verify -v tls_value=true)
    select_base "$CONTAINERD_CONFIG" "$base"
    inspect_toml "$base"
    if [ "$MODE" = mirror ] && [ -n "$TOML_TLS" ] && [ -f "$APPLIED_DIR$CONTAINERD_CONFIG" ]; then
        drop_our_tls "$base"
    fi
    case $TOML_VERSION in
        '' | 1 | 2 | 3) ;;
        *) die "$CONTAINERD_CONFIG says version = $TOML_VERSION; containerd 1.x reads versions 1 and 2, containerd 2.x versions 2 and 3. Fix the version line and run again. The file was not changed." ;;
    esac
    table=$TOML_REGISTRY
    if [ -n "$TOML_INLINE" ]; then
        die "$CONTAINERD_CONFIG sets $TOML_INLINE as an inline table; write it as [table] sections so that dragonfly-cce can edit $table safely, then run again."
    fi
    conflict=${TOML_MIRRORS:-$TOML_TLS}
    if [ -n "$TOML_CONFIG_PATH" ] && [ -n "$conflict" ]; then
        die "$CONTAINERD_CONFIG already conflicts: $table sets config_path together with $conflict, which containerd refuses (1.7+ does not start, 1.6 runs without its CRI plugin). Move those settings into hosts.toml files under $TOML_CONFIG_PATH or remove config_path, then run again. The file was not changed."
    fi
    hosts_dir=${TOML_CONFIG_PATH%%:*}
    if [ "$MODE" = mirror ]; then
        if [ -n "$conflict" ]; then
            migrate_registry_tables "$base"
        fi
        hosts_dir=${hosts_dir:-$DEFAULT_HOSTS_DIR}
        for registry in ${REGISTRIES[@]+"${REGISTRIES[@]}"}; do
            plan_mirror_hosts "$registry" "$hosts_dir"
        done
        for registry in ${MIGRATED_HOSTS[@]+"${MIGRATED_HOSTS[@]}"}; do
            if ! routed "$registry"; then
                plan_migrated_hosts "$registry" "$hosts_dir"
            fi
        done
        if [ "$ALL_REGISTRIES" = yes ]; then
            plan_mirror_default "$hosts_dir"
        fi
        check_planned_hosts
        if ! awk -v dir="$hosts_dir" "$AWK_TOML_READ$AWK_TOML_CONFIG_PATH" "$base" > "$out"; then
            die "cannot set config_path in $CONTAINERD_CONFIG: $(cat "$out"). The file was not changed."
        fi
        keep_if_unchanged "$base" "$out"
        install_file "$CONTAINERD_CONFIG" "$out" 0644
        install_planned_hosts
    elif [ -n "$hosts_dir" ]; then
        for registry in ${REGISTRIES[@]+"${REGISTRIES[@]}"}; do
            plan_skip_verify_hosts "$registry" "$hosts_dir"
        done
        check_planned_hosts
        if [ -n "$PROXY_CA" ] && [ "${#REGISTRIES[@]}" -gt 0 ]; then
            write_proxy_ca
        fi
        install_planned_hosts
    elif [ "${#REGISTRIES[@]}" -gt 0 ]; then
        for registry in "${REGISTRIES[@]}"; do
            tls_hosts+=("$(endpoint_host "$registry")")
        done
        if [ -n "$PROXY_CA" ]; then
            tls=(-v tls_key=ca_file -v tls_value="\"$PROXY_CA_FILE\"" -v tls_off=insecure_skip_verify)
        fi
        if ! awk -v hosts="${tls_hosts[*]}" "${tls[@]}" "$AWK_TOML_READ$AWK_TOML_TLS" "$base" > "$out"; then
            die "cannot set the TLS settings in $CONTAINERD_CONFIG: $(cat "$out"). The file was not changed."
        fi
        keep_if_unchanged "$base" "$out"
        if [ -n "$PROXY_CA" ]; then
            write_proxy_ca
        fi
        install_file "$CONTAINERD_CONFIG" "$out" 0644
    fi
}

# The files config.toml's `imports` names that define a table of the CRI plugin, one a line.
cri_importers() {
    local list pattern file dir=${CONTAINERD_CONFIG%/*}
    list=$(sed -n 's/^[[:space:]]*imports[[:space:]]*=[[:space:]]*\[\(.*\)\][[:space:]]*\r\{0,1\}$/\1/p' "$CONTAINERD_CONFIG")
    list=${list//[\"\']/}
    for pattern in ${list//,/ }; do
        # As containerd resolves them: a relative path against config.toml's directory, a
        # relative glob against its working directory (/ under systemd).
        case $pattern in
            /*) ;;
            *'*'* | *'?'* | *'['*) pattern=/$pattern ;;
            *) pattern=$dir/$pattern ;;
        esac
        for file in $pattern; do
            if [ -f "$file" ] && grep -Eq 'io\.containerd\.grpc\.v1\.cri|io\.containerd\.cri\.v1|plugins\.("cri"|cri)' "$file"; then
                printf '%s\n' "$file"
            fi
        done
    done
}

# containerd 1.x takes each plugin's table whole from the last file that defines it, so a file
# that config.toml imports and that defines the CRI plugin's table replaces ours, with the
# registry settings. With imports, containerd's effective configuration (`containerd config
# dump`) must still have what this run wrote; otherwise the run is refused and undone.
check_effective_config() {
    local dump=$WORK/config.dump want_path want_tls host missing=() importers
    if ! grep -Eq '^[[:space:]]*imports[[:space:]]*=[[:space:]]*\[[[:space:]]*["'\'']' "$CONTAINERD_CONFIG" 2>/dev/null ||
        ! command -v containerd >/dev/null 2>&1; then
        return 0
    fi
    # A config this containerd cannot read fails the health check after the restart instead.
    containerd --config "$CONTAINERD_CONFIG" config dump > "$dump" 2>/dev/null || return 0
    inspect_toml "$CONTAINERD_CONFIG"
    want_path=$TOML_CONFIG_PATH
    want_tls=$TOML_TLS_TABLES
    inspect_toml "$dump"
    if [ -n "$want_path" ] && [ "$TOML_CONFIG_PATH" != "$want_path" ]; then
        missing+=("config_path = \"$want_path\"")
    fi
    for host in $want_tls; do
        case " $TOML_TLS_TABLES " in
            *" $host "*) ;;
            *) missing+=("configs.\"$host\".tls") ;;
        esac
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    importers=$(cri_importers | paste -sd, - | sed 's/,/, /g')
    die "$CONTAINERD_CONFIG imports other files, and containerd's effective configuration (containerd config dump) lacks the registry settings: $(IFS=,; printf '%s' "${missing[*]}" | sed 's/,/, /g'). containerd 1.x takes each plugin's table whole from the last file that defines it, so an imported file that defines the CRI plugin's table replaces the one in $CONTAINERD_CONFIG. Imported files that define it: ${importers:-none found by name}. Move their CRI settings into $CONTAINERD_CONFIG, then run again. Nothing was changed."
}
