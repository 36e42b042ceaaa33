# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The proxy drop-in for the apply script: the proxy URL (with credentials from stdin), the unit
# settings written by hand that would send the runtime elsewhere (Docker's daemon.json proxies
# among them), our drop-in in proxy mode and its take-over in mirror mode.

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
