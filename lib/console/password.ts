/**
 * The Dragonfly console's root account and the manager's password rule.
 *
 * The chart creates `root` with the public password `dragonfly` on first start against an
 * empty database; the manager accepts passwords of 8 to 20 characters.
 */
import { failSecret } from "../config/validate";

/** The manager's password rule: at least this many characters... */
export const CONSOLE_PASSWORD_MIN_LENGTH = 8;

/** ...and at most this many. */
export const CONSOLE_PASSWORD_MAX_LENGTH = 20;

/** Length of the generated password: the longest the manager accepts. */
export const GENERATED_PASSWORD_LENGTH = 20;

/**
 * Special characters of the generated password. None of them needs escaping in JSON (no `"`
 * or `\`), in a URL userinfo-free body, or in curl's config syntax; the rotation script escapes
 * `"` and `\` anyway, so a password chosen by hand may contain them.
 */
export const GENERATED_PASSWORD_SPECIALS = "!#%+-.:=?@^_~";

const ALLOWED = "8 to 20 printable ASCII characters without spaces (the manager's rule is 8-20 characters)";

/**
 * Checks a console password against the manager's rule, and against what the rotation script
 * can carry (one line of stdin, so printable ASCII, no spaces so nothing is lost to trimming).
 * Throws a ConfigError for `key` that never shows the value.
 */
export function checkConsolePassword(key: string, value: unknown): string {
    if (typeof value !== "string") {
        failSecret(key, ALLOWED);
    }
    if (value.length < CONSOLE_PASSWORD_MIN_LENGTH || value.length > CONSOLE_PASSWORD_MAX_LENGTH) {
        failSecret(key, `${ALLOWED}; got ${value.length} characters`);
    }
    if (!/^[\x21-\x7e]+$/.test(value)) {
        failSecret(key, `${ALLOWED}; got a space, a control or a non-ASCII character`);
    }
    return value;
}
