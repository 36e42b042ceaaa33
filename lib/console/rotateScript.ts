/**
 * The node-side script that rotates the console's root password through the manager's REST
 * API (sign in, find root, reset_password, sign in again).
 *
 * It runs on a cluster node over SSH, because nodes reach the console NodePort and CI runners
 * often do not. The console URL is not secret and is written into the script (or given as its
 * first argument); passwords come on stdin only, see {@link rotatePasswordStdin}.
 */
import { CONSOLE_PASSWORD_MAX_LENGTH, CONSOLE_PASSWORD_MIN_LENGTH } from "./password";
import { CONSOLE_USERNAME, DEFAULT_CONSOLE_PASSWORD } from "../dragonfly";
import { shq } from "../remote/shell";
import { sourceFile } from "../remote/sourceFile";

/** The script's fixed body (lib/console/rotate.sh); the header before it sets its variables. */
const ROTATE_BODY = sourceFile(__dirname, "rotate.sh");

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
# Generated by dragonfly-cce (lib/console/rotateScript.ts, body lib/console/rotate.sh); runs on
# a cluster node, which reaches the console NodePort.
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
min_length=${min}
max_length=${max}
default_password=${shq(DEFAULT_CONSOLE_PASSWORD)}
rotated_summary=${shq(ROTATED_SUMMARY)}
already_rotated_summary=${shq(ALREADY_ROTATED_SUMMARY)}

${ROTATE_BODY}`;
}
