/**
 * The node-side script that rotates the console's root password through the manager's REST
 * API (sign in, find root, reset_password, sign in again).
 *
 * It runs on a cluster node over SSH, because nodes reach the console NodePort and CI runners
 * often do not. The console URL is not secret and is written into the script (or given as its
 * first argument); passwords come on stdin only, see {@link rotatePasswordStdin}.
 */
import {
    CONSOLE_PASSWORD_MAX_LENGTH,
    CONSOLE_PASSWORD_MIN_LENGTH,
    CONSOLE_USERNAME,
    DEFAULT_CONSOLE_PASSWORD,
} from "./password";

/** How many times the script tries to reach the manager before it gives up. */
export const DEFAULT_ROTATE_ATTEMPTS = 60;

/** Seconds between two tries while the manager is not ready. */
export const DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS = 5;

/** Seconds one HTTP request may take (connect and answer) before it counts as no answer. */
export const DEFAULT_ROTATE_REQUEST_TIMEOUT_SECONDS = 10;

/** The line the script prints on stdout after changing the password. */
export const ROTATED_SUMMARY = "dragonfly-cce: console password rotated";

/** The line the script prints on stdout when the new password already works. */
export const ALREADY_ROTATED_SUMMARY = "dragonfly-cce: console password already rotated";

export interface RotatePasswordScriptOptions {
    /**
     * Base URL of the manager's REST API as seen from the node, e.g. `http://192.168.0.10:30080`.
     * Omitted: the script takes it from its first argument.
     */
    consoleUrl?: string;
    /** The account to rotate. Default {@link CONSOLE_USERNAME} (`root`). */
    username?: string;
    /** Tries while the manager does not answer or answers 5xx. Default {@link DEFAULT_ROTATE_ATTEMPTS}. */
    attempts?: number;
    /** Seconds between tries (fractions allowed). Default {@link DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS}. */
    retryIntervalSeconds?: number;
    /** Per-request timeout in seconds (fractions allowed). Default {@link DEFAULT_ROTATE_REQUEST_TIMEOUT_SECONDS}. */
    requestTimeoutSeconds?: number;
}

const URL_PATTERN = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

/** Checks a console URL: http(s), a host, optional port and path; nothing a shell would expand. */
export function checkConsoleUrl(url: string): string {
    if (!URL_PATTERN.test(url)) {
        throw new Error(
            `console URL ${JSON.stringify(url)} is not allowed: expected http(s)://HOST[:PORT][/PATH], ` +
                `e.g. http://192.168.0.10:30080`,
        );
    }
    return url.replace(/\/+$/, "");
}

function checkNumber(name: string, value: number, min: number, max: number, integer: boolean): number {
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
        throw new Error(`${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}; got ${value}`);
    }
    return value;
}

/**
 * The stdin of the rotation script: the new password on the first line, then the passwords
 * root may have now, in the order to try them (by default the chart's `dragonfly`).
 * The result is a secret: pass it only as a command's stdin.
 */
export function rotatePasswordStdin(
    newPassword: string,
    currentPasswords: readonly string[] = [DEFAULT_CONSOLE_PASSWORD],
): string {
    for (const p of [newPassword, ...currentPasswords]) {
        if (/[\r\n]/.test(p)) {
            throw new Error("a console password must not contain a line break");
        }
    }
    return [newPassword, ...currentPasswords].map((p) => `${p}\n`).join("");
}

/**
 * Generates the bash script that rotates the console password on a node. See the script's
 * header for its stdin format and exit statuses. It needs bash, coreutils, sed, awk and curl.
 */
export function rotatePasswordScript(opts: RotatePasswordScriptOptions = {}): string {
    const url = opts.consoleUrl === undefined ? undefined : checkConsoleUrl(opts.consoleUrl);
    const username = opts.username ?? CONSOLE_USERNAME;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(username)) {
        throw new Error(`console user name ${JSON.stringify(username)} is not allowed: letters, digits, ".", "_", "-"`);
    }
    const attempts = checkNumber("attempts", opts.attempts ?? DEFAULT_ROTATE_ATTEMPTS, 1, 10000, true);
    const interval = checkNumber(
        "retryIntervalSeconds",
        opts.retryIntervalSeconds ?? DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS,
        0.05,
        3600,
        false,
    );
    const timeout = checkNumber(
        "requestTimeoutSeconds",
        opts.requestTimeoutSeconds ?? DEFAULT_ROTATE_REQUEST_TIMEOUT_SECONDS,
        0.1,
        600,
        false,
    );
    const urlLine =
        url === undefined
            ? `console_url=\${1:?usage: rotate-console-password CONSOLE_URL, passwords on stdin}`
            : `console_url=\${1:-'${url}'}`;
    const min = CONSOLE_PASSWORD_MIN_LENGTH;
    const max = CONSOLE_PASSWORD_MAX_LENGTH;

    return `#!/usr/bin/env bash
# Rotates the Dragonfly console's ${username} password away from the chart default.
# Generated by dragonfly-cce (lib/console/rotateScript.ts); runs on a cluster node, which
# reaches the console NodePort.
#
# Usage: rotate-console-password [CONSOLE_URL] <passwords
#   stdin, one password per line:
#     line 1       the new password (${min}-${max} characters)
#     lines 2...   passwords ${username} may have now, tried in order when the new one is refused
#                  (none given: the chart default)
#   Passwords come on stdin only: they are never printed, passed as arguments or exported.
# Exit status: 0 rotated or already rotated, 1 failed (reason on stderr), 2 bad stdin.
set -euo pipefail

${urlLine}
console_url=\${console_url%/}
user=${username}
max_attempts=${attempts}
retry_interval=${interval}
request_timeout=${timeout}
token_pattern='^[A-Za-z0-9._~+/=-]+$'

log() { printf 'dragonfly-cce: %s\\n' "$*" >&2; }
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
if ((\${#new_password} < ${min} || \${#new_password} > ${max})); then
    log "error: the new password has \${#new_password} characters; the manager accepts ${min} to ${max}"
    exit 2
fi
if ((\${#current_passwords[@]} == 0)); then
    current_passwords=('${DEFAULT_CONSOLE_PASSWORD}')
fi

# json_string VALUE: prints VALUE as a JSON string (backslashes and quotes escaped).
json_string() {
    local s=$1
    s=\${s//\\\\/\\\\\\\\}
    s=\${s//\\"/\\\\\\"}
    printf '"%s"' "$s"
}

# request METHOD PATH [--auth]: calls the manager, a POST's JSON body on stdin. Prints the
# HTTP status (000: no answer in time); the response body is left in $response_file.
request() {
    local method=$1 path=$2 auth=\${3:-}
    local args=(--silent --connect-timeout "$request_timeout" --max-time "$request_timeout"
        --output "$response_file" --write-out '%{http_code}' --request "$method")
    if [[ $method == POST ]]; then
        args+=(--header 'Content-Type: application/json' --data-binary @-)
    fi
    if [[ $auth == --auth ]]; then
        args+=(--config "$auth_file")
    fi
    : >"$response_file"
    curl "\${args[@]}" "$console_url$path" || true
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
    token=$(sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p' "$response_file")
    if [[ ! $token =~ $token_pattern ]]; then
        die "signing in at $console_url answered 200 without a usable token"
    fi
    printf 'header = "Authorization: Bearer %s"\\n' "$token" >"$auth_file"
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
        echo "${ALREADY_ROTATED_SUMMARY} ($user at $console_url)"
        exit 0
        ;;
    401) ;;
    *) die "signing in at $console_url answered $(describe "$status"); expected 200 or 401" ;;
esac

old_password=
for candidate in "\${current_passwords[@]}"; do
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
    die "$console_url refuses $user's new password and the \${#current_passwords[@]} current one(s) tried (HTTP 401 each): the password was changed outside this stack. To recover: set dragonfly-cce:console.rotatePassword to false and manage the password by hand, or give the stack the current password, or reset $user's password in the manager database (table users, column encrypted_password, a bcrypt hash) to the chart default and run the stack again."
fi

# Find the account's id; the chart's root is normally 1.
user_id=
status=$(request GET "/api/v1/users?name=$user" --auth </dev/null)
if [[ $status == 200 ]]; then
    user_id=$(awk -v name="$user" '
        BEGIN { RS = "}" }
        !found && $0 ~ ("\\"name\\"[[:space:]]*:[[:space:]]*\\"" name "\\"") &&
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
echo "${ROTATED_SUMMARY} ($user at $console_url)"
`;
}
