/**
 * A `Pulumi.<stack>.yaml` text as config values, for `npm run render` (which runs without the
 * Pulumi CLI). Pure.
 */
import { parse } from "yaml";

import { checkKnownKeys, parseStackConfig, StackConfig } from "./";
import { KEY_NOT_RENDERED } from "./proxyCa";
import { CONFIG_NAMESPACE, isPlainObject } from "./validate";

/** Stands in for a `secure:` value of the stack file, which only the Pulumi CLI can decrypt. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
    "ssh.privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\n(not rendered)\n-----END OPENSSH PRIVATE KEY-----\n",
    "ssh.bastion.privateKey":
        "-----BEGIN OPENSSH PRIVATE KEY-----\n(not rendered)\n-----END OPENSSH PRIVATE KEY-----\n",
    "proxy.ca.key": KEY_NOT_RENDERED,
};

/**
 * The stack's config keys from a `Pulumi.<stack>.yaml` text, without the namespace. `secure:`
 * values become placeholders (SSH keys, the proxy CA's key) or are dropped (anything else:
 * kubeconfig), since only the Pulumi CLI can decrypt them and nothing rendered needs them.
 */
export function configFromStackFile(text: string): Record<string, unknown> {
    const doc = parse(text) as unknown;
    if (!isPlainObject(doc) || !isPlainObject(doc.config ?? {})) {
        throw new Error("not a Pulumi stack file: no `config:` mapping");
    }
    const raw: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        const [ns, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s, 2) : [CONFIG_NAMESPACE, fullKey];
        if (ns !== CONFIG_NAMESPACE) {
            continue;
        }
        checkKnownKeys([key], { [key]: value });
        const cleared = replaceSecure(value, [key]);
        if (cleared !== undefined) {
            raw[key] = cleared;
        }
    }
    // Rendering needs no SSH credentials: a stack file whose key is not set yet still renders.
    const ssh = isPlainObject(raw.ssh) ? raw.ssh : raw.ssh === undefined ? {} : undefined;
    if (ssh !== undefined && Array.isArray(raw.nodes) && ssh.privateKey === undefined && ssh.password === undefined) {
        raw.ssh = { ...ssh, privateKey: SECRET_PLACEHOLDERS["ssh.privateKey"] };
    }
    return raw;
}

function replaceSecure(v: unknown, at: string[]): unknown {
    if (isPlainObject(v)) {
        if (Object.keys(v).length === 1 && typeof v.secure === "string") {
            return SECRET_PLACEHOLDERS[at.join(".")];
        }
        const out: Record<string, unknown> = {};
        for (const [k, c] of Object.entries(v)) {
            const r = replaceSecure(c, [...at, k]);
            if (r !== undefined) {
                out[k] = r;
            }
        }
        return out;
    }
    if (Array.isArray(v)) {
        return v.map((c, i) => replaceSecure(c, [...at, String(i)]));
    }
    return v;
}

/** Parses a stack file's text into the stack config (the same parser the program uses). */
export function stackConfigFromFile(text: string): StackConfig {
    return parseStackConfig(configFromStackFile(text));
}
