/**
 * Validation primitives for stack configuration.
 *
 * Every check throws a {@link ConfigError} that names the config key (with the
 * `dragonfly-cce:` namespace), the offending value and what is allowed, so a bad stack config
 * fails at preview time, before any resource is created.
 */

/** The Pulumi config namespace of this project (`name` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "dragonfly-cce";

/** A stack configuration value that is not allowed. */
export class ConfigError extends Error {
    constructor(
        /** Config key, without namespace, e.g. `proxy.loadBalancer.sourceRanges[1]`. */
        public readonly key: string,
        /** The offending value, rendered for humans (never a secret's value). */
        public readonly value: string,
        /** What the key accepts. */
        public readonly allowed: string,
    ) {
        super(`Invalid config ${CONFIG_NAMESPACE}:${key}: got ${value}; allowed: ${allowed}`);
        this.name = "ConfigError";
    }
}

/** Renders a config value for an error message (short, single line). */
export function show(value: unknown): string {
    if (value === undefined) {
        return "nothing (the key is not set)";
    }
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        text = String(value);
    }
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Objects of the config that hold secrets (SSH keys and passwords, node entries, kubeconfig, the
 * console password, proxy credentials, chart values such as external database passwords). Under them a mistyped key (`ssh.pasword`), a value of
 * the wrong type (`ssh.user: {...}`) or the whole object replaced by text (`ssh` set to a key's
 * text) may carry a secret, and Pulumi masks only exact secret values: so a rejected value under
 * them is never shown, unless its key is in {@link SHOWN_UNDER_SECRETS} and it has that key's type.
 */
export const SECRET_HOLDERS = ["ssh", "nodes", "kubeconfig", "console", "proxy", "helmValues"] as const;

const HOLDER = new RegExp(`^(${SECRET_HOLDERS.join("|")})(?=$|[.[])`);

/**
 * Keys under {@link SECRET_HOLDERS} whose rejected values are shown (they hold no secret), with
 * the type a shown value must have: `string`, `int` (a number or a numeric text), `bool` (true or
 * false) or `any`.
 */
const SHOWN_UNDER_SECRETS: readonly [RegExp, "string" | "int" | "bool" | "any"][] = [
    [/^ssh\.(user|hostKeyPolicy)$/, "string"],
    [/^ssh\.bastion\.(host|user)$/, "string"],
    [/^ssh\.bastion\.port$/, "int"],
    [/^nodes\[\d+\]\.(host|name|user|runtime)$/, "string"],
    [/^nodes\[\d+\]\.port$/, "int"],
    [/^console\.nodeAddress$/, "string"],
    [/^console\.nodePort$/, "int"],
    [/^console\.rotatePassword$/, "bool"],
    [/^proxy\.address$/, "string"],
    [/^proxy\.port$/, "int"],
    [/^proxy\.basicAuth$/, "bool"],
    [/^proxy\.ca\.certificate$/, "string"],
    [/^proxy\.loadBalancer(\.|$)/, "any"],
    // The names helmValues may not set (lib/cluster/helmValues.ts): a name of the wrong kind is shown.
    [/^helmValues\.((manager|scheduler|seedClient|client)\.)?(name|nameOverride|fullnameOverride)$/, "string"],
];

/** Why the value of `key` is not shown, or undefined when it may be shown. */
function hiddenBecause(key: string, value: unknown): string | undefined {
    if (typeof value === "string" && /PRIVATE KEY/.test(value)) {
        return "it looks like a private key";
    }
    const holder = HOLDER.exec(key)?.[1];
    if (holder === undefined || value === undefined) {
        return undefined;
    }
    const shown = SHOWN_UNDER_SECRETS.find(([re]) => re.test(key))?.[1];
    const typed =
        shown === "any" ||
        (shown === "string" && typeof value === "string") ||
        (shown === "bool" && typeof value === "boolean") ||
        (shown === "int" && (typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value))));
    return typed ? undefined : `${holder} may hold secrets`;
}

/** What a hidden value is, without any of its content. */
export function describeHidden(value: unknown, because: string): string {
    const kind = Array.isArray(value) ? "a list" : value === null ? "null" : `a ${typeof value}`;
    return `${kind} (value hidden: ${because})`;
}

/**
 * Throws a ConfigError for `key`. Under an object that holds secrets (see
 * {@link SECRET_HOLDERS}) the value is described, not shown.
 */
export function fail(key: string, value: unknown, allowed: string): never {
    const because = hiddenBecause(key, value);
    throw new ConfigError(key, because === undefined ? show(value) : describeHidden(value, because), allowed);
}

/** Like {@link fail}, for secrets: the value itself is never shown. */
export function failSecret(key: string, allowed: string): never {
    throw new ConfigError(key, "[secret]", allowed);
}

export type PlainObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is PlainObject {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks that `value` is an object with no keys but `allowedKeys`: a typo in a structured
 * config value must not be silently ignored.
 */
export function expectObject(key: string, value: unknown, allowedKeys: readonly string[]): PlainObject {
    if (!isPlainObject(value)) {
        fail(key, value, `an object with the keys ${allowedKeys.join(", ")}`);
    }
    for (const k of Object.keys(value)) {
        if (!allowedKeys.includes(k)) {
            fail(`${key}.${k}`, value[k], `no such key; the keys of ${key} are ${allowedKeys.join(", ")}`);
        }
    }
    return value;
}

/** An optional object: `undefined`/`null` give `{}`. */
export function optObject(key: string, value: unknown, allowedKeys: readonly string[]): PlainObject {
    return value === undefined || value === null ? {} : expectObject(key, value, allowedKeys);
}

export function optString(key: string, value: unknown, allowed = "a non-empty string"): string | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value !== "string" || value.trim() === "") {
        fail(key, value, allowed);
    }
    return value;
}

export function expectString(key: string, value: unknown, allowed = "a non-empty string"): string {
    const s = optString(key, value, allowed);
    if (s === undefined) {
        fail(key, value, `${allowed} (required)`);
    }
    return s;
}

/** Integers may come as numbers or as numeric strings (`pulumi config set` stores strings). */
export function optInt(key: string, value: unknown, min: number, max: number): number | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        fail(key, value, `an integer from ${min} to ${max}`);
    }
    return n;
}

export function optBool(key: string, value: unknown): boolean | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (value === true || value === "true") {
        return true;
    }
    if (value === false || value === "false") {
        return false;
    }
    fail(key, value, "true or false");
}

export function optEnum<T extends string>(key: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
        fail(key, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
    }
    return value as T;
}

/** An optional list; `check` validates each element with its indexed key. */
export function optArray<T>(key: string, value: unknown, check: (k: string, v: unknown) => T): T[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (!Array.isArray(value)) {
        fail(key, value, "a list");
    }
    return value.map((v, i) => check(`${key}[${i}]`, v));
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
    return IPV4.test(s);
}

/** IPv6 in any textual form Node accepts (checked by `net.isIPv6`). */
export function isIPv6(s: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("net") as typeof import("net")).isIPv6(s);
}

/** An IPv4 or IPv6 CIDR block, e.g. `10.0.0.0/8` or `fd00::/64`. */
export function isCidr(s: string): boolean {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
    if (!m) {
        return false;
    }
    const bits = Number(m[2]);
    if (isIPv4(m[1])) {
        return bits <= 32;
    }
    return isIPv6(m[1]) && bits <= 128;
}

/** A DNS name (RFC 1123 labels), e.g. `swr.cn-north-4.myhuaweicloud.com`. */
export function isDnsName(s: string): boolean {
    return s.length <= 253 && s.split(".").every((l) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(l));
}

/**
 * A host name: a DNS name whose last label is not all digits (RFC 3696 2), so that a mistyped
 * address such as `192.168.0.300`, `010.0.0.1` or `10.0.1` is not taken for a name.
 */
export function isHostName(s: string): boolean {
    return isDnsName(s) && !/^\d+$/.test(s.slice(s.lastIndexOf(".") + 1));
}

/** A host: a host name or an IP address. */
export function isHost(s: string): boolean {
    return isIPv4(s) || isIPv6(s) || isHostName(s);
}

/** `allowed`, with the IPv4 rule spelled out when `value` looks like a mistyped IPv4 address. */
export function hostAllowed(allowed: string, value: unknown): string {
    return typeof value === "string" && /^(?=.*\d)[\d.]+$/.test(value)
        ? `${allowed}; an IPv4 address is four numbers from 0 to 255 without leading zeros, e.g. 192.168.0.10`
        : allowed;
}

/** A Kubernetes label value: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
export function isLabelValue(s: string): boolean {
    return s.length <= 63 && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(s);
}

/** A Kubernetes label key: optional DNS prefix and `/`, then a name of at most 63 characters. */
export function isLabelKey(s: string): boolean {
    const parts = s.split("/");
    if (parts.length > 2) {
        return false;
    }
    const name = parts[parts.length - 1];
    const prefix = parts.length === 2 ? parts[0] : undefined;
    if (prefix !== undefined && (prefix === "" || !isDnsName(prefix))) {
        return false;
    }
    return name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
}

/** A Kubernetes object name (RFC 1123 label, used for namespaces and release names). */
export function isDnsLabel(s: string): boolean {
    return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s);
}
