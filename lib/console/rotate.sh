# shellcheck shell=bash disable=SC2154
# The console password rotation script's body (see lib/console/rotateScript.ts). Follows the
# generated header, which sets console_url, user, max_attempts, retry_interval,
# request_timeout, min_length, max_length, default_password, rotated_summary and
# already_rotated_summary.
token_pattern='^[A-Za-z0-9._~+/=-]+$'

log() { printf 'dragonfly-cce: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

umask 077
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT
response_file=$work_dir/response
# curl config holding the bearer token: as an argument it would show in ps.
auth_file=$work_dir/auth

new_password=
current_passwords=()
line_no=0
while IFS= read -r line || [[ -n $line ]]; do
    line_no=$((line_no + 1))
    if [[ -z $line ]]; then
        continue
    fi
    if [[ $line == *[[:cntrl:]]* ]]; then
        log "error: stdin line $line_no: a password must not contain control characters"
        exit 2
    fi
    if [[ -z $new_password ]]; then
        new_password=$line
    else
        current_passwords+=("$line")
    fi
done
if [[ -z $new_password ]]; then
    log "error: no new password on stdin (line 1)"
    exit 2
fi
if ((${#new_password} < min_length || ${#new_password} > max_length)); then
    log "error: the new password has ${#new_password} characters; the manager accepts $min_length to $max_length"
    exit 2
fi
if ((${#current_passwords[@]} == 0)); then
    current_passwords=("$default_password")
fi

# json_string VALUE: prints VALUE as a JSON string (backslashes and quotes escaped).
json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# request METHOD PATH [--auth]: calls the manager, a POST's JSON body on stdin. Prints the
# HTTP status (000: no answer in time); the response body is left in $response_file.
request() {
    local method=$1 path=$2 auth=${3:-}
    local args=(--silent --connect-timeout "$request_timeout" --max-time "$request_timeout"
        --output "$response_file" --write-out '%{http_code}' --request "$method")
    if [[ $method == POST ]]; then
        args+=(--header 'Content-Type: application/json' --data-binary @-)
    fi
    if [[ $auth == --auth ]]; then
        args+=(--config "$auth_file")
    fi
    : >"$response_file"
    curl "${args[@]}" "$console_url$path" || true
}

# describe STATUS: an HTTP status for humans.
describe() {
    if [[ $1 == 000 || -z $1 ]]; then
        echo "no answer"
    else
        echo "HTTP $1"
    fi
}

# sign_in PASSWORD: signs in as $user and sets $status; on 200 keeps the token for --auth.
sign_in() {
    status=$(printf '{"name":%s,"password":%s}' "$(json_string "$user")" "$(json_string "$1")" |
        request POST /api/v1/users/signin)
    if [[ $status != 200 ]]; then
        return 0
    fi
    local token
    token=$(sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$response_file")
    if [[ ! $token =~ $token_pattern ]]; then
        die "signing in at $console_url answered 200 without a usable token"
    fi
    printf 'header = "Authorization: Bearer %s"\n' "$token" >"$auth_file"
}

# Sign in with the new password, waiting while the manager starts (no answer or 5xx).
attempt=1
while :; do
    sign_in "$new_password"
    case $status in
        000 | 5?? | "") ;;
        *) break ;;
    esac
    if ((attempt >= max_attempts)); then
        die "the manager at $console_url is not ready after $max_attempts attempts ($(describe "$status")); is the release up and the NodePort reachable from this node?"
    fi
    log "waiting for the manager at $console_url ($(describe "$status"), attempt $attempt of $max_attempts)"
    attempt=$((attempt + 1))
    sleep "$retry_interval"
done

case $status in
    200)
        echo "$already_rotated_summary ($user at $console_url)"
        exit 0
        ;;
    401) ;;
    *) die "signing in at $console_url answered $(describe "$status"); expected 200 or 401" ;;
esac

old_password=
for candidate in "${current_passwords[@]}"; do
    sign_in "$candidate"
    case $status in
        200)
            old_password=$candidate
            break
            ;;
        401) ;;
        *) die "signing in at $console_url answered $(describe "$status"); expected 200 or 401" ;;
    esac
done
if [[ -z $old_password ]]; then
    die "$console_url refuses $user's new password and the ${#current_passwords[@]} current one(s) tried (HTTP 401 each): the password was changed outside this stack. To recover: give the stack $user's current password as the secret dragonfly-cce:console.password (pulumi config set --secret --path 'dragonfly-cce:console.password', which prompts for it) and run the stack again, or set dragonfly-cce:console.rotatePassword to false and manage the password by hand, or reset $user's password in the manager database (table users, column encrypted_password, a bcrypt hash) to the chart default and run the stack again."
fi

# Find the account's id; the chart's root is normally 1.
user_id=
status=$(request GET "/api/v1/users?name=$user" --auth </dev/null)
if [[ $status == 200 ]]; then
    user_id=$(awk -v name="$user" '
        BEGIN { RS = "}" }
        !found && $0 ~ ("\"name\"[[:space:]]*:[[:space:]]*\"" name "\"") &&
            match($0, /"id"[[:space:]]*:[[:space:]]*[0-9]+/) {
            id = substr($0, RSTART, RLENGTH)
            sub(/.*:[[:space:]]*/, "", id)
            print id
            found = 1
        }' "$response_file")
fi
if [[ -z $user_id ]]; then
    log "could not look up $user's id ($(describe "$status")); assuming 1"
    user_id=1
fi

status=$(printf '{"old_password":%s,"new_password":%s}' "$(json_string "$old_password")" "$(json_string "$new_password")" |
    request POST "/api/v1/users/$user_id/reset_password" --auth)
if [[ $status != 200 ]]; then
    die "resetting the password of $user (id $user_id) at $console_url answered $(describe "$status")"
fi

sign_in "$new_password"
if [[ $status != 200 ]]; then
    die "the manager accepted the new password but signing in with it answered $(describe "$status")"
fi
echo "$rotated_summary ($user at $console_url)"
