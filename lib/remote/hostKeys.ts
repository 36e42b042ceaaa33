/**
 * SSH host keys of the nodes and the bastion: `nodes[].hostKey`, `ssh.knownHosts`,
 * `ssh.hostKeyPolicy`. Pure: parsing, validation, the key each connection pins, and the
 * known_hosts lines that express the same trust for OpenSSH (tests/e2e/hostKeys.test.ts checks
 * those settings against a real sshd).
 *
 * Errors never show the configured text: a host key field may hold a pasted private key or a
 * password by mistake, and `ssh.knownHosts` may be set as a secret. They name the key, the line
 * and what is wrong.
 */
import { createHmac } from "crypto";

import { ConfigError, isHost } from "../config/validate";
import { sourceFile } from "./sourceFile";

/** `pinned`: every connection checks its key; `accept-new-and-report`: unknown keys are accepted and printed. */
export const HOST_KEY_POLICIES = ["pinned", "accept-new-and-report"] as const;
export type HostKeyPolicy = (typeof HOST_KEY_POLICIES)[number];
/** `unchecked`: no key and no policy configured; every node gets a warning at preview time. */
export type EffectiveHostKeyPolicy = HostKeyPolicy | "unchecked";

/**
 * Host key types accepted, in the order a connection prefers them when `ssh.knownHosts` lists
 * several keys for one host (a connection pins exactly one key). `ssh-rsa` lines are read (as
 * `ssh-keyscan` prints them) but never pinned: see {@link RSA_PIN_REFUSED}.
 */
export const HOST_KEY_TYPES = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
] as const;

/** The SSH port at which known_hosts names a host without brackets. */
export const DEFAULT_KNOWN_HOSTS_PORT = 22;

/** Prefix of the lines the host key report script prints. */
export const HOST_KEY_REPORT_PREFIX = "dragonfly-cce-hostkey:";
const HOST_KEY_REPORT_SCRIPT = sourceFile(__dirname, "hostkey-report.sh");

const KEY_FORMAT = `a public host key "<type> <base64>" as in /etc/ssh/ssh_host_*_key.pub (type one of ${HOST_KEY_TYPES.join(", ")})`;

/** Why `text` is not a host key ("" when it is one), without quoting it. */
function keyProblem(text: string): string {
    if (/PRIVATE KEY/.test(text)) {
        return "a PRIVATE key (not shown): give the node's public host key instead";
    }
    const fields = text.trim().split(/\s+/);
    if (fields.length < 2 || fields[0] === "") {
        return "text that is not two fields (type and base64 key data)";
    }
    const [type, data] = fields;
    if (!(HOST_KEY_TYPES as readonly string[]).includes(type)) {
        return "text whose first field is not a host key type";
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
        return `a ${type} key whose key data is not base64`;
    }
    // The key blob starts with its own type: a length-prefixed string.
    const blob = Buffer.from(data, "base64");
    const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (len < 0 || 4 + len > blob.length || blob.subarray(4, 4 + len).toString("latin1") !== type) {
        return `a ${type} key whose key data is not a ${type} key`;
    }
    return "";
}

/** Validates one public host key; returns it as `<type> <base64>` (the comment dropped). */
export function parseHostKey(key: string, value: unknown): string {
    if (typeof value !== "string" || value.trim() === "") {
        failQuiet(key, typeof value === "string" ? "an empty string" : typeOf(value), KEY_FORMAT);
    }
    const problem = keyProblem(value);
    if (problem !== "") {
        failQuiet(key, problem, KEY_FORMAT);
    }
    return value.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** One line of known_hosts: the names it covers (plain or hashed) and its key. */
export interface KnownHostsEntry {
    /** Plain names, lower-cased: `host` or `[host]:port`. */
    names: string[];
    /** Hashed names (`|1|salt|hash`). */
    hashed: { salt: Buffer; hash: string }[];
    /** `<type> <base64>`. */
    key: string;
    /** 1-based line number, for errors. */
    line: number;
}

/** Parses known_hosts text (a string, or a list of lines). Comments and blank lines are skipped. */
export function parseKnownHosts(key: string, value: unknown): KnownHostsEntry[] {
    if (value === undefined || value === null) {
        return [];
    }
    const lines = Array.isArray(value) && value.every((l) => typeof l === "string") ? value.join("\n") : value;
    if (typeof lines !== "string") {
        failQuiet(key, typeOf(value), "the text of a known_hosts file (or a list of its lines)");
    }
    const entries: KnownHostsEntry[] = [];
    lines.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.trim();
        const where = `line ${i + 1}`;
        if (line === "" || line.startsWith("#")) {
            return;
        }
        const fields = line.split(/\s+/);
        if (fields[0].startsWith("@")) {
            failQuiet(
                key,
                `${where}: a marker line (@cert-authority or @revoked)`,
                "plain known_hosts lines `HOST[,HOST...] <type> <base64>`; markers are not supported",
            );
        }
        if (fields.length < 3) {
            failQuiet(key, `${where}: ${fields.length} field(s)`, "known_hosts lines `HOST[,HOST...] <type> <base64>`");
        }
        const problem = keyProblem(fields.slice(1).join(" "));
        if (problem !== "") {
            failQuiet(key, `${where}: ${problem}`, KEY_FORMAT);
        }
        const entry: KnownHostsEntry = { names: [], hashed: [], key: `${fields[1]} ${fields[2]}`, line: i + 1 };
        for (const name of fields[0].split(",")) {
            const hashed = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(name);
            if (hashed) {
                entry.hashed.push({ salt: Buffer.from(hashed[1], "base64"), hash: hashed[2] });
                continue;
            }
            const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(name);
            const host = m ? m[1] : name;
            if (!isHost(host) || (m !== null && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
                failQuiet(
                    key,
                    `${where}: a host field that is not a host name, an IP address or [host]:port`,
                    "host names, IP addresses, [host]:port or hashed names (|1|...); patterns (*, ?, !) are not supported: list each host",
                );
            }
            entry.names.push(m ? `[${host.toLowerCase()}]:${Number(m[2])}` : host.toLowerCase());
        }
        entries.push(entry);
    });
    return entries;
}

/** How known_hosts names a host at a port: `host` at 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
    const h = host.toLowerCase();
    return port === DEFAULT_KNOWN_HOSTS_PORT ? h : `[${h}]:${port}`;
}

/** The known_hosts line that pins `key` for `host:port`. */
export function knownHostsLine(host: string, port: number, key: string): string {
    return `${knownHostsName(host, port)} ${key}`;
}

function matches(entry: KnownHostsEntry, name: string): boolean {
    return (
        entry.names.includes(name) ||
        entry.hashed.some((h) => createHmac("sha1", h.salt).update(name).digest("base64") === h.hash)
    );
}

/** The key a connection to `host:port` pins from known_hosts: the preferred type among its keys. */
export function keyFromKnownHosts(entries: KnownHostsEntry[], host: string, port: number): string | undefined {
    const name = knownHostsName(host, port);
    const keys = entries.filter((e) => matches(e, name)).map((e) => e.key);
    const rank = (k: string) => (HOST_KEY_TYPES as readonly string[]).indexOf(k.split(" ")[0]);
    return keys.sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * The host key algorithm a connection that pins `key` offers: exactly the key's type, as the
 * command provider (pulumi-command 1.2.1, `remote/connection.go`: `HostKeyAlgorithms:
 * []string{publicKey.Type()}`) does. For an RSA key that is `ssh-rsa` (SHA-1 signatures), which
 * OpenSSH 8.8 and later refuse: see {@link RSA_PIN_REFUSED}. The OpenSSH value of the e2e test.
 */
export function hostKeyAlgorithms(key: string): string {
    return key.split(" ")[0];
}

/** Why an ssh-rsa key is never pinned, and what to pin instead. */
export const RSA_PIN_REFUSED =
    "an ed25519 or ECDSA host key (/etc/ssh/ssh_host_ed25519_key.pub or ssh_host_ecdsa_key.pub); an ssh-rsa key cannot be pinned: " +
    "the command provider then offers only the ssh-rsa (SHA-1) signature, which OpenSSH 8.8 and later refuse, so no connection would be made";

function isRsa(key: string): boolean {
    return key.split(" ")[0] === "ssh-rsa";
}

/** What host key resolution needs of a node. */
export interface HostKeyTarget {
    /** Config key of the node entry, e.g. `nodes[2]`. */
    key: string;
    name: string;
    host: string;
    port: number;
    /** The node's own `hostKey` (validated). */
    hostKey?: string;
}

export interface ResolvedHostKeys {
    policy: EffectiveHostKeyPolicy;
    /** Per node, in order: the key its connection pins, or undefined (accepted unchecked). */
    nodes: (string | undefined)[];
    /** The bastion's pinned key. */
    bastion?: string;
}

/**
 * The key each connection pins. A node's own `hostKey` wins over `ssh.knownHosts`. The policy
 * defaults to `pinned` when any key is configured, otherwise `unchecked`. Under `pinned` every
 * node (and the bastion) must have a key: a ConfigError names the first that has none.
 */
export function resolveHostKeys(args: {
    nodes: HostKeyTarget[];
    knownHosts: KnownHostsEntry[];
    policy?: HostKeyPolicy;
    bastion?: { host: string; port: number };
}): ResolvedHostKeys {
    const anyKey = args.knownHosts.length > 0 || args.nodes.some((n) => n.hostKey !== undefined);
    const policy: EffectiveHostKeyPolicy = args.policy ?? (anyKey ? "pinned" : "unchecked");
    const nodes = args.nodes.map((n) => {
        const key = n.hostKey ?? keyFromKnownHosts(args.knownHosts, n.host, n.port);
        if (key !== undefined && isRsa(key)) {
            failQuiet(
                n.hostKey === undefined ? "ssh.knownHosts" : `${n.key}.hostKey`,
                n.hostKey === undefined
                    ? `only an ssh-rsa key for ${knownHostsName(n.host, n.port)} (${n.name})`
                    : "an ssh-rsa key",
                RSA_PIN_REFUSED,
            );
        }
        if (key === undefined && policy === "pinned") {
            failQuiet(
                `${n.key}.hostKey`,
                `nothing, and ssh.knownHosts has no key for ${knownHostsName(n.host, n.port)}`,
                `the node's public host key (ssh.hostKeyPolicy is "pinned"${args.policy === undefined ? ", the default once any key is given" : ""}); set ssh.hostKeyPolicy "accept-new-and-report" to collect it on first contact`,
            );
        }
        return key;
    });
    const out: ResolvedHostKeys = { policy, nodes };
    if (args.bastion !== undefined) {
        const key = keyFromKnownHosts(args.knownHosts, args.bastion.host, args.bastion.port);
        if (key !== undefined && isRsa(key)) {
            failQuiet(
                "ssh.knownHosts",
                "only an ssh-rsa key for the bastion (ssh.bastion.host and port)",
                RSA_PIN_REFUSED,
            );
        }
        if (key === undefined && policy === "pinned") {
            failQuiet(
                "ssh.knownHosts",
                "no line for the bastion (ssh.bastion.host and port)",
                `a known_hosts line for the bastion too (ssh.hostKeyPolicy is "pinned")`,
            );
        }
        if (key !== undefined) {
            out.bastion = key;
        }
    }
    return out;
}

/**
 * The known_hosts text that expresses a connection's trust for OpenSSH: one line for the host,
 * one for the proxy (bastion) when it has a key. Empty when nothing is pinned.
 */
export function connectionKnownHosts(conn: {
    host: string;
    port?: number;
    hostKey?: string;
    proxy?: { host: string; port?: number; hostKey?: string };
}): string {
    const lines: string[] = [];
    if (conn.hostKey !== undefined) {
        lines.push(knownHostsLine(conn.host, conn.port ?? DEFAULT_KNOWN_HOSTS_PORT, conn.hostKey));
    }
    if (conn.proxy?.hostKey !== undefined) {
        lines.push(knownHostsLine(conn.proxy.host, conn.proxy.port ?? DEFAULT_KNOWN_HOSTS_PORT, conn.proxy.hostKey));
    }
    return lines.map((l) => `${l}\n`).join("");
}

/**
 * A script that prints the node's host public keys, one `dragonfly-cce-hostkey: <type> <base64>`
 * line each (`ssh.hostKeyPolicy: accept-new-and-report`). The keys are world-readable: no sudo.
 * The script is lib/remote/hostkey-report.sh; its prefix is {@link HOST_KEY_REPORT_PREFIX}.
 */
export function hostKeyReportScript(): string {
    return HOST_KEY_REPORT_SCRIPT;
}

/** The known_hosts lines for `host:port` from the report script's output (valid keys only). */
export function reportedKnownHosts(stdout: string, host: string, port: number): string[] {
    return stdout
        .split("\n")
        .filter((l) => l.startsWith(`${HOST_KEY_REPORT_PREFIX} `))
        .map((l) => l.slice(HOST_KEY_REPORT_PREFIX.length + 1).trim())
        .filter((k) => keyProblem(k) === "")
        .map((k) => knownHostsLine(host, port, k));
}

/** The kind of `v`, with its article ("a list", "an object", "a number"). */
function typeOf(v: unknown): string {
    return Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A ConfigError whose "got" part is a description, never the value itself. */
function failQuiet(key: string, described: string, allowed: string): never {
    throw new ConfigError(key, /not shown/.test(described) ? described : `${described} (value not shown)`, allowed);
}
