# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The apply script's body: configures the node's runtime for Dragonfly (see lib/node/scripts.ts).
# Follows the generated header, common.sh and the awk programs its runtime needs
# (containerd: AWK_TOML_READ, AWK_TOML_INSPECT, AWK_TOML_TLS, AWK_TOML_CONFIG_PATH; Docker:
# AWK_DOCKER_JSON).
DEFAULT_HOSTS_DIR=/etc/containerd/certs.d
DROPIN=/etc/systemd/system/$RUNTIME.service.d/http-proxy.conf
# With proxy credentials: the proxy URLs go into this file (mode 0600) through EnvironmentFile=,
# because systemd shows every Environment= value to any local user (systemctl show).
PROXY_ENV_FILE=/etc/systemd/system/$RUNTIME.service.d/http-proxy.env
# With proxy.ca (containerd, proxy mode): the CA the proxy signs intercepted HTTPS with, which
# the routed registries' TLS settings name instead of skipping verification. containerd reads it
# at each pull, so a new CA needs no restart.
PROXY_CA_FILE=/etc/containerd/dragonfly-proxy-ca.crt
desired=()
leftovers=()

# awk ends its output with a newline; when it made no edit, keep the base byte for byte.
keep_if_unchanged() {
    if [ -s "$1" ] && [ "$(cat "$1")" = "$(cat "$2")" ]; then
        cat "$1" > "$2"
    fi
}

# Keeps the original of PATH once: a copy, or a marker that it did not exist.
backup_once() {
    local path=$1
    if [ -e "$BACKUP_DIR/files$path" ] || [ -e "$BACKUP_DIR/absent$path" ]; then
        return 0
    fi
    if [ -e "$path" ]; then
        mkdir -p "$(dirname "$BACKUP_DIR/files$path")"
        cp -p "$path" "$BACKUP_DIR/files$path.new"
        mv -f "$BACKUP_DIR/files$path.new" "$BACKUP_DIR/files$path"
    else
        mkdir -p "$(dirname "$BACKUP_DIR/absent$path")"
        : > "$BACKUP_DIR/absent$path"
    fi
    printf '%s\n' "$path" >> "$WORK/backed-up"
}

# Creates DIR and its missing parents, remembering each one so that restore can remove it.
ensure_dir() {
    local dir=$1
    if [ -d "$dir" ]; then
        return 0
    fi
    ensure_dir "$(dirname "$dir")"
    mkdir -m 0755 "$dir"
    printf '%s\n' "$dir" >> "$BACKUP_DIR/created-dirs"
    printf '%s\n' "$dir" >> "$WORK/created"
}

record_applied() {
    mkdir -p "$(dirname "$APPLIED_DIR$1")"
    cp -p "$1" "$APPLIED_DIR$1"
}

# install_file PATH SOURCE MODE: gives PATH the content of SOURCE unless it already has it.
# MODE applies to new files, and always when it is 0600 (the file holds a credential).
install_file() {
    local path=$1 source=$2 mode=$3 target tmp
    desired+=("$path")
    if [ -f "$path" ] && cmp -s "$source" "$path"; then
        if [ "$mode" = 0600 ]; then
            chmod 0600 "$path"
        fi
        if [ -e "$BACKUP_DIR/files$path" ] || [ -e "$BACKUP_DIR/absent$path" ]; then
            record_applied "$path"
        fi
        return 0
    fi
    if [ -f "$APPLIED_DIR$path" ] && [ -f "$path" ] && ! cmp -s "$APPLIED_DIR$path" "$path"; then
        keep_changed "$path" "it is replaced now"
    fi
    backup_once "$path"
    save_previous "$path"
    ensure_dir "$(dirname "$path")"
    target=$(write_target "$path")
    tmp=$(mktemp "$(dirname "$target")/.dragonfly-cce.XXXXXX")
    cat "$source" > "$tmp"
    if [ -e "$path" ] && [ "$mode" != 0600 ]; then
        chmod --reference="$path" "$tmp"
        chown --reference="$path" "$tmp"
    else
        chmod "$mode" "$tmp"
    fi
    note_pending "$path"
    mv -f "$tmp" "$target"
    record_applied "$path"
    mark_changed "$path"
}

# The text our edits start from: the original file when the current one is exactly what we
# wrote last time (so that removed registries or another mode leave nothing behind), otherwise
# the current file. An empty file stands for a missing one.
select_base() {
    local path=$1 dest=$2
    if [ -f "$APPLIED_DIR$path" ] && [ -f "$path" ] && cmp -s "$APPLIED_DIR$path" "$path"; then
        if [ -f "$BACKUP_DIR/files$path" ]; then
            cat "$BACKUP_DIR/files$path" > "$dest"
        else
            : > "$dest"
        fi
    elif [ -f "$path" ]; then
        if [ -f "$APPLIED_DIR$path" ]; then
            keep_changed "$path" "this run starts from the changed file, but restore puts back the file from before the first run"
        fi
        cat "$path" > "$dest"
    else
        : > "$dest"
    fi
}

read_proxy_url() {
    PROXY_URL=$ENDPOINT
    if [ "$PROXY_AUTH" != yes ]; then
        return 0
    fi
    local credentials=
    IFS= read -r credentials || true
    case $credentials in
        ?*:?*) ;;
        *) die "expected the proxy credentials as one line user:password on stdin" ;;
    esac
    PROXY_URL="${ENDPOINT%%://*}://$(urlencode "${credentials%%:*}"):$(urlencode "${credentials#*:}")@${ENDPOINT#*://}"
}

# Percent-encodes everything but unreserved URL characters (byte by byte: LC_ALL=C).
urlencode() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# URL without user:password@ and trailing slash; http:// when it names no scheme (as Go's
# ProxyFromEnvironment reads it).
proxy_address() {
    local url=$1 rest
    case $url in
        *://*) ;;
        *) url=http://$url ;;
    esac
    url=${url%/}
    rest=${url#*://}
    printf '%s://%s' "${url%%://*}" "${rest##*@}"
}

# The HTTP(S)_PROXY settings of a unit file, one "SOURCE<TAB>NAME<TAB>VALUE" line each: its
# Environment= lines (SOURCE: the unit file), and the files its EnvironmentFile= lines name, which
# systemd reads after every Environment= line, so that their values win (SOURCE: that file).
unit_proxy_settings() {
    local unit=$1 line word words path file
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        line=${line#"${line%%[![:space:]]*}"}
        case $line in
            Environment=*)
                read -ra words <<< "${line#Environment=}"
                for word in ${words[@]+"${words[@]}"}; do
                    word=${word//\"/}
                    # A literal % is %% in a unit file.
                    printf '%s\t%s\t%s\n' "$unit" "${word%%=*}" "${word#*=}" | sed 's/%%/%/g'
                done
                ;;
            EnvironmentFile=?*)
                # A file name or a wildcard expression; a leading - makes it optional.
                path=${line#EnvironmentFile=}
                while IFS= read -r file; do
                    env_file_proxy_settings "$file" "$file (EnvironmentFile= of $unit)"
                done < <(compgen -G "${path#-}" || true)
                ;;
        esac
    done < "$unit"
}

# The settings of an environment file, as unit_proxy_settings prints them (SOURCE: the second
# argument): KEY=VALUE lines, # and ; comments, quotes around a value removed.
env_file_proxy_settings() {
    local file=$1 source=$2 line name value
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        case $line in
            '' | '#'* | ';'*) continue ;;
            *=*) ;;
            *) continue ;;
        esac
        name=${line%%=*}
        value=${line#*=}
        case $value in
            \"*\" | \'*\') value=${value:1:${#value}-2} ;;
        esac
        printf '%s\t%s\t%s\n' "$source" "${name//[[:space:]]/}" "$value"
    done < "$file"
}

# systemd's unit directories, highest precedence first (systemd.unit(5), system manager).
UNIT_DIRS=(/etc/systemd/system.control /run/systemd/system.control /run/systemd/transient
    /run/systemd/generator.early /etc/systemd/system /etc/systemd/system.attached /run/systemd/system
    /run/systemd/system.attached /run/systemd/generator /usr/local/lib/systemd/system
    /usr/lib/systemd/system /lib/systemd/system /run/systemd/generator.late)

# The files that make up the runtime's unit, as systemd finds them (also those a daemon-reload has
# not read yet), one a line, ours left out: the unit file that takes precedence, then every
# drop-in (<unit>.service.d/*.conf, and service.d/*.conf, which applies to every service).
runtime_unit_files() {
    local dir file fragment=
    for dir in "${UNIT_DIRS[@]}"; do
        if [ -z "$fragment" ] && [ -f "$dir/$RUNTIME.service" ]; then
            fragment=$dir/$RUNTIME.service
            printf '%s\n' "$fragment"
        fi
    done
    for dir in "${UNIT_DIRS[@]}"; do
        for file in "$dir/$RUNTIME.service.d"/*.conf "$dir/service.d"/*.conf; do
            if [ -f "$file" ] && ! { [ "$file" = "$DROPIN" ] && managed "$file"; }; then
                printf '%s\n' "$file"
            fi
        done
    done
}

# Unit settings written by hand (the seed document's http-proxy.conf among them) that send the
# runtime to another proxy are refused, naming the file: Environment= and EnvironmentFile= lines
# of the runtime's unit file and drop-ins. One that names the Dragonfly proxy is fine (ours
# replaces a drop-in at our path, and restore puts it back). Mirror mode takes over only the
# drop-in at our path naming Dragonfly (take_over_dropin removes it) and refuses any other proxy
# setting, since it would carry every pull, the fallback to the registry included.
HAND_DROPIN=no
check_hand_dropins() {
    local file source name value want at_our_path
    want=$(proxy_address "$ENDPOINT")
    while IFS= read -r file; do
        at_our_path=no
        if [ "$file" = "$DROPIN" ]; then
            at_our_path=yes
        fi
        while IFS=$'\t' read -r source name value; do
            case $name in
                HTTP_PROXY | HTTPS_PROXY | http_proxy | https_proxy) ;;
                *) continue ;;
            esac
            value=$(proxy_address "$value")
            if [ "$MODE" = mirror ] && { [ "$value" != "$want" ] || [ "$at_our_path" = no ]; }; then
                die "$source sets $name=$value, which mirror mode cannot take over: with a proxy in its environment $RUNTIME sends every HTTPS pull through it, the fallback to the registry included. dragonfly-cce takes over only $DROPIN naming Dragonfly's endpoint ($want). Remove that setting or the file (or use runtimeMode proxy), then run again. Nothing was changed."
            elif [ "$value" = "$want" ] && [ "$at_our_path" = yes ]; then
                HAND_DROPIN=yes
            elif [ "$value" != "$want" ]; then
                die "$source sets $name=$value, another proxy than Dragonfly's ($want). Remove that setting or the file (or list this proxy's address as the Dragonfly endpoint), then run again. Nothing was changed."
            fi
        done < <(unit_proxy_settings "$file")
    done < <(runtime_unit_files)
}

# Docker 23+ reads proxies from daemon.json, and they win over the drop-in's environment: one
# that names another proxy than Dragonfly's is refused, naming the key.
check_docker_proxies() {
    local key value want
    if [ ! -f "$DOCKER_CONFIG" ]; then
        return 0
    fi
    want=$(proxy_address "$ENDPOINT")
    for key in http-proxy https-proxy; do
        value=$(tr -d '\r\n' < "$DOCKER_CONFIG" | sed -n "s/.*\"$key\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p")
        if [ -n "$value" ] && [ "$(proxy_address "$value")" != "$want" ]; then
            die "$DOCKER_CONFIG sets proxies.$key=$(proxy_address "$value"), another proxy than Dragonfly's ($want); dockerd prefers it to the drop-in's environment. Remove that setting (or list this proxy's address as the Dragonfly endpoint), then run again. Nothing was changed."
        fi
    done
}

# The systemd drop-in that sends the runtime's registry traffic to the Dragonfly proxy. With
# credentials, the proxy URLs (user:password inside) go to PROXY_ENV_FILE, readable by root only,
# and the drop-in names that file: systemd reads it at each start and shows only its path.
write_dropin() {
    local url
    # systemd expands % specifiers in unit files and drops a word with an unknown one: a literal
    # % is %% there (credentials are percent-encoded; a NO_PROXY entry such as fe80::1%eth0 has
    # one). An EnvironmentFile is not expanded, so it takes the URL as it is.
    url=${PROXY_URL//%/%%}
    if [ "$PROXY_AUTH" = yes ]; then
        {
            printf '# Managed by dragonfly-cce: the Dragonfly client proxy with its credentials (root only).\n'
            printf 'HTTP_PROXY=%s\n' "$PROXY_URL"
            printf 'HTTPS_PROXY=%s\n' "$PROXY_URL"
        } > "$WORK/proxy.env"
        install_file "$PROXY_ENV_FILE" "$WORK/proxy.env" 0600
    fi
    {
        printf '# Managed by dragonfly-cce: %s pulls images through the Dragonfly client proxy.\n' "$RUNTIME"
        printf '[Service]\n'
        if [ "$PROXY_AUTH" = yes ]; then
            printf 'EnvironmentFile=%s\n' "$PROXY_ENV_FILE"
        else
            printf 'Environment="HTTP_PROXY=%s"\n' "$url"
            printf 'Environment="HTTPS_PROXY=%s"\n' "$url"
        fi
        printf 'Environment="NO_PROXY=%s"\n' "${NO_PROXY_LIST//%/%%}"
    } > "$WORK/dropin"
    install_file "$DROPIN" "$WORK/dropin" 0644
}

# Mirror mode: no proxy drop-in of ours stays in force. The hand-made http-proxy.conf that
# check_hand_dropins accepted, or the one proxy mode replaced, is removed; its original stays
# kept and restore puts it back. Ours on a node that had none goes with restore_leftovers.
take_over_dropin() {
    if managed "$DROPIN" && [ ! -e "$BACKUP_DIR/files$DROPIN" ]; then
        return 0
    fi
    if ! managed "$DROPIN" && [ "$HAND_DROPIN" = no ]; then
        return 0
    fi
    desired+=("$DROPIN")
    if [ ! -e "$DROPIN" ]; then
        return 0
    fi
    if managed "$DROPIN" && ! { [ -f "$APPLIED_DIR$DROPIN" ] && cmp -s "$APPLIED_DIR$DROPIN" "$DROPIN"; }; then
        keep_changed "$DROPIN" "mirror mode removes it"
    fi
    backup_once "$DROPIN"
    save_previous "$DROPIN"
    note_pending "$DROPIN"
    rm -f "$DROPIN" "$APPLIED_DIR$DROPIN"
    mark_changed "$DROPIN"
}

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

configure_docker() {
    local base=$WORK/daemon.base out=$WORK/daemon.json
    if [ "${#REGISTRIES[@]}" -eq 0 ]; then
        return 0
    fi
    select_base "$DOCKER_CONFIG" "$base"
    if ! awk -v regs="${REGISTRIES[*]}" "$AWK_DOCKER_JSON" "$base" > "$out"; then
        die "$DOCKER_CONFIG was not changed: $(cat "$out")"
    fi
    keep_if_unchanged "$base" "$out"
    install_file "$DOCKER_CONFIG" "$out" 0644
}

# A node whose runtime changed in the config: restoring the other runtime's files would need a
# restart of that runtime, which this run does not do (it would keep running with them in
# force). Refused; the restore of the old runtime does it.
check_other_runtime() {
    local path other=docker
    if [ "$RUNTIME" = docker ]; then
        other=containerd
    fi
    while IFS= read -r path; do
        case $path in
            "/etc/$other/"* | "/etc/systemd/system/$other.service.d/"*)
                die "dragonfly-cce configured $other on this node ($path), and its runtime is now $RUNTIME. Its restore restarts $other with the original files: remove the node from nodes and run pulumi up (that restores it), then add it back with runtime $RUNTIME. Nothing was changed."
                ;;
        esac
    done < <(managed_paths)
}

# Restores files that an earlier run managed and this one no longer wants.
restore_leftovers() {
    local path want wanted
    while IFS= read -r path; do
        wanted=no
        for want in ${desired[@]+"${desired[@]}"}; do
            if [ "$want" = "$path" ]; then
                wanted=yes
            fi
        done
        if [ "$wanted" = no ]; then
            restore_path "$path"
            leftovers+=("$path")
        fi
    done < <(managed_paths)
}

main() {
    local path restarted=no error
    if [ "$(id -u)" -ne 0 ]; then
        die "must run as root (the Pulumi program runs it through sudo -n for other users)"
    fi
    if [ "$RUNTIME" = containerd ]; then
        command -v ctr >/dev/null 2>&1 || die "ctr not found: it is needed to check containerd's health"
    else
        command -v docker >/dev/null 2>&1 || die "docker not found: it is needed to check Docker's health"
    fi
    read_proxy_url
    lock_state
    mkdir -p "$BACKUP_DIR" "$APPLIED_DIR"
    resume_pending_restart
    # The edits that can be refused come first.
    check_other_runtime
    check_hand_dropins
    if [ "$RUNTIME" = docker ]; then
        check_docker_proxies
    fi
    if [ "$RUNTIME" = containerd ]; then
        configure_containerd
        check_effective_config
    else
        configure_docker
    fi
    if [ "$MODE" = proxy ]; then
        write_dropin
    else
        take_over_dropin
    fi
    restore_leftovers
    if [ "$restart_needed" = yes ]; then
        restarted=yes
        if ! restart_runtime; then
            error=$(runtime_error)
            rollback
            reload_needed=yes
            HEALTH_ERROR=
            if restart_runtime; then
                rm -f "$PENDING"
                die "$RUNTIME was not healthy after the change, so the previous files were put back and $RUNTIME restarted (healthy again). $RUNTIME said: $error"
            fi
            die "$RUNTIME was not healthy after the change; the previous files were put back but $RUNTIME is still not healthy: $(runtime_error). Before the rollback it said: $error"
        fi
    else
        check_running
    fi
    rm -f "$PENDING"
    for path in ${leftovers[@]+"${leftovers[@]}"}; do
        forget_path "$path"
    done
    # Directories only the files of another mode or registry needed go with them.
    if [ "${#leftovers[@]}" -gt 0 ]; then
        remove_created_dirs
    fi
    summary "$restarted"
}

main "$@"
