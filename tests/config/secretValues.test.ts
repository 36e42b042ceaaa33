/**
 * Config errors never show a value under an object that holds secrets (ssh, ssh.bastion,
 * nodes[i], kubeconfig, console, proxy, proxy.ca, helmValues): every error path of those objects is walked with
 * secret-looking values (unknown keys, wrong types at each key, wrong shapes at each level, the
 * whole object replaced by a password or a private key's text), and no part of any secret may
 * appear in the message, while the key does.
 */
import { parseStackConfig, RawStackConfig } from "../../lib/config";
import { buildHelmValues } from "../../lib/cluster/helmValues";
import { configErrorOf } from "../helpers/configError";
import { testCertificates } from "../helpers/testCa";

const PASSWORD = "S3cr3t-R00t-Pw!";
/** A PEM ECDSA key: its first base64 line already holds the private scalar. */
const EC_KEY =
    "-----BEGIN EC PRIVATE KEY-----\n" +
    "MHcCAQEEIBkq9vZr3yQ0sEcReTsCaLaRpRiVaTeSbItS0fEcDsAoGCCqGSM49\n" +
    "AwEHoUQDQgAEzq1n0NoTaReAlKeYzQ2w3e4r5t6y7u8i9o0p1a2s3d4f5g6h7j8k\n" +
    "-----END EC PRIVATE KEY-----\n";
/** The valid config's own key and password: they must not show up in any error either. */
const BASE_KEY =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAbaseKeyMaterial99\n-----END OPENSSH PRIVATE KEY-----\n";
const BASE_PASSWORD = "Base-Passw0rd-4711";
/** The valid config's proxy CA: its key must not show up either. */
const CA = testCertificates().ca;
const KUBECONFIG = "apiVersion: v1\nclusters: []\nusers: [{name: u, user: {token: kubeTok3n-8d7f6e5c4b3a}}]\n";

/** The texts no message may contain any 8-character piece of. */
const SECRETS = [
    PASSWORD,
    ...EC_KEY.split("\n").filter((l) => l !== "" && !l.startsWith("-----")),
    "b3BlbnNzaC1rZXktdjEAAAAAbaseKeyMaterial99",
    BASE_PASSWORD,
    "kubeTok3n-8d7f6e5c4b3a",
    ...CA.key.split("\n").filter((l) => l !== "" && !l.startsWith("-----")),
];

function leaks(message: string): string[] {
    const found: string[] = [];
    for (const s of SECRETS) {
        for (let i = 0; i + 8 <= s.length; i++) {
            if (message.includes(s.slice(i, i + 8))) {
                found.push(s.slice(i, i + 8));
                break;
            }
        }
    }
    return found;
}

/** A valid config with every secret-holding object set. */
function base(): RawStackConfig {
    return {
        nodePool: "pool",
        kubeconfig: KUBECONFIG,
        ssh: {
            user: "root",
            privateKey: BASE_KEY,
            password: BASE_PASSWORD,
            bastion: { host: "192.168.0.2", port: 22, user: "jump", privateKey: BASE_KEY },
        },
        nodes: [{ host: "192.168.0.10", name: "node-1", port: 22, user: "root", runtime: "containerd" }],
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        console: { nodePort: 30080, nodeAddress: "192.168.0.10", rotatePassword: true },
        proxy: {
            port: 4001,
            address: "192.168.0.177",
            basicAuth: false,
            ca: { certificate: CA.certificate, key: CA.key },
        },
    };
}

/** Sets `path` (e.g. `ssh.bastion.user`, `nodes[0].port`) in `raw`. */
function set(raw: RawStackConfig, path: string, value: unknown): RawStackConfig {
    const parts = path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "");
    let node: any = raw;
    for (const p of parts.slice(0, -1)) {
        node = node[p];
    }
    node[parts[parts.length - 1]] = value;
    return raw;
}

type Kind = "string" | "int" | "bool" | "secret" | "object" | "list";
/** The objects that hold secrets and their keys, as the parsers define them. */
const HOLDERS: Record<string, Record<string, Kind>> = {
    ssh: {
        user: "string",
        privateKey: "secret",
        password: "secret",
        bastion: "object",
        knownHosts: "secret",
        hostKeyPolicy: "string",
    },
    "ssh.bastion": { host: "string", port: "int", user: "string", privateKey: "secret" },
    "nodes[0]": { host: "string", name: "string", port: "int", user: "string", runtime: "string", hostKey: "secret" },
    console: { nodePort: "int", nodeAddress: "string", rotatePassword: "bool", password: "secret" },
    proxy: { port: "int", address: "string", basicAuth: "bool", ca: "object" },
    "proxy.ca": { certificate: "string", key: "secret", alsoTrust: "list" },
};
/** Misspelt or invented keys (none of them a key of any holder). */
const UNKNOWN_KEYS = ["pasword", "privatekey", "Password", "secret", "token", "private_key"];
const SECRET_VALUES: [string, unknown][] = [
    ["a password", PASSWORD],
    ["a private key's text", EC_KEY],
    ["an object holding a password", { password: PASSWORD }],
    ["a list holding a key", [EC_KEY]],
];
/** Values of the wrong type for a key of `kind` that carry a secret. */
function wrongTyped(kind: Kind): [string, unknown][] {
    const shapes: [string, unknown][] = [
        ["an object holding a password", { password: PASSWORD }],
        ["a list holding a password", [PASSWORD]],
        ["a nested list holding a key", [[EC_KEY]]],
    ];
    switch (kind) {
        case "string":
            return [...shapes, ["a private key's text", EC_KEY]];
        case "int":
        case "bool":
        case "secret":
            return [...shapes, ["a password", PASSWORD], ["a private key's text", EC_KEY]];
        case "list":
            // (a list in its place is checked item by item: see the item cases below)
            return [
                ["an object holding a password", { password: PASSWORD }],
                ["a password", PASSWORD],
                ["a private key's text", EC_KEY],
                ["a number", 4711],
            ];
        case "object":
            // (an object in its place is a holder of its own, walked as such)
            return [
                ...shapes.filter(([, v]) => !isObject(v)),
                ["a password", PASSWORD],
                ["a private key's text", EC_KEY],
                ["a number", 4711],
            ];
    }
}

function isObject(v: unknown): boolean {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface Case {
    what: string;
    raw: RawStackConfig;
    key: string;
}

function cases(): Case[] {
    const out: Case[] = [];
    for (const [holder, keys] of Object.entries(HOLDERS)) {
        // The whole object replaced (an object in its place is covered by the unknown keys).
        for (const [what, value] of [
            ...SECRET_VALUES.filter(([, v]) => !isObject(v)),
            ["a number", 4711] as [string, unknown],
        ]) {
            out.push({ what: `${holder} set to ${what}`, raw: set(base(), holder, value), key: holder });
        }
        // Unknown keys.
        for (const k of UNKNOWN_KEYS) {
            for (const [what, value] of SECRET_VALUES) {
                out.push({
                    what: `${holder}.${k} set to ${what}`,
                    raw: set(base(), `${holder}.${k}`, value),
                    key: `${holder}.${k}`,
                });
            }
        }
        // Each known key with a value of the wrong type.
        for (const [k, kind] of Object.entries(keys)) {
            for (const [what, value] of wrongTyped(kind)) {
                if ((k === "password" && typeof value === "string") || (k === "privateKey" && value === EC_KEY)) {
                    continue; // a valid password, a valid key
                }
                out.push({
                    what: `${holder}.${k} (${kind}) set to ${what}`,
                    raw: set(base(), `${holder}.${k}`, value),
                    key: `${holder}.${k}`,
                });
            }
        }
    }
    // The list of nodes itself, and kubeconfig (a secret of its own).
    for (const [what, value] of [
        ["a password", PASSWORD],
        ["a private key's text", EC_KEY],
        ["an object holding a password", { password: PASSWORD }],
    ] as [string, unknown][]) {
        out.push({ what: `nodes set to ${what}`, raw: set(base(), "nodes", value), key: "nodes" });
    }
    for (const [what, value] of [
        ["a list holding a token", ["kubeTok3n-8d7f6e5c4b3a"]],
        ["a number", 4711],
        ["true", true],
    ] as [string, unknown][]) {
        out.push({ what: `kubeconfig set to ${what}`, raw: set(base(), "kubeconfig", value), key: "kubeconfig" });
    }
    // A list of certificates: each item is checked, and named by its index.
    for (const [what, value] of [
        ["a password", PASSWORD],
        ["a private key's text", EC_KEY],
        ["a list holding a key", [EC_KEY]],
    ] as [string, unknown][]) {
        out.push({
            what: `proxy.ca.alsoTrust[0] set to ${what}`,
            raw: set(base(), "proxy.ca.alsoTrust", [value]),
            key: "proxy.ca.alsoTrust[0]",
        });
    }
    // helmValues may hold the external databases' passwords: the whole value (e.g. YAML text
    // where JSON was expected) and the keys it may not set.
    for (const [what, value] of [
        ["a password", PASSWORD],
        ["YAML text with a password", `mysql:\n  auth:\n    password: ${PASSWORD}\n`],
        ["a list holding a password", [PASSWORD]],
        ["a number", 4711],
    ] as [string, unknown][]) {
        out.push({ what: `helmValues set to ${what}`, raw: set(base(), "helmValues", value), key: "helmValues" });
    }
    // The reproductions, spelled out.
    out.push({ what: "issue: ssh.pasword", raw: set(base(), "ssh.pasword", PASSWORD), key: "ssh.pasword" });
    out.push({ what: "issue: ssh set to a key", raw: set(base(), "ssh", EC_KEY), key: "ssh" });
    out.push({ what: "issue: ssh.privatekey", raw: set(base(), "ssh.privatekey", EC_KEY), key: "ssh.privatekey" });
    return out;
}

describe("config errors under objects that hold secrets", () => {
    test("the valid base config parses (so each case fails for its own key)", () => {
        expect(parseStackConfig(base()).nodes.nodes).toHaveLength(1);
    });

    const all = cases();
    test("the walk covers every holder, every key and every shape", () => {
        expect(all.length).toBeGreaterThan(200);
    });

    test.each(all.map((c) => [c.what, c] as const))("%s: names the key, shows no secret", (_what, c) => {
        const e = configErrorOf(() => parseStackConfig(c.raw));
        expect(e.key).toBe(c.key);
        expect(e.message).toContain(`dragonfly-cce:${c.key}`);
        expect(leaks(e.message)).toEqual([]);
        expect(e.value).toMatch(/hidden|secret|not shown/);
        expect(e.allowed).not.toBe("");
    });

    test("the names helmValues may not set: a value holding a password is hidden (checked when the values are built)", () => {
        for (const [path, value] of [
            ["helmValues.global.nodeSelector", { password: PASSWORD }],
            ["helmValues.manager.name", [PASSWORD]],
            ["helmValues.fullnameOverride", { password: PASSWORD }],
        ] as [string, unknown][]) {
            const helmValues = path
                .split(".")
                .slice(1)
                .reduceRight<unknown>((inner, k) => ({ [k]: inner }), value);
            const core = parseStackConfig({ ...base(), helmValues }).core;
            const e = configErrorOf(() =>
                buildHelmValues(core, { mysqlRootPassword: "", mysqlPassword: "", redisPassword: "", jwtKey: "" }),
            );
            expect(e.key).toBe(path);
            expect(leaks(e.message)).toEqual([]);
            expect(e.value).toMatch(/hidden/);
        }
        // A name is shown.
        const core = parseStackConfig({ ...base(), helmValues: { fullnameOverride: "df" } }).core;
        const e = configErrorOf(() =>
            buildHelmValues(core, { mysqlRootPassword: "", mysqlPassword: "", redisPassword: "", jwtKey: "" }),
        );
        expect(e.value).toBe('"df"');
    });

    test("unknown keys are named with the keys that are allowed", () => {
        const e = configErrorOf(() => parseStackConfig(set(base(), "ssh.pasword", PASSWORD)));
        expect(e.message).toBe(
            "Invalid config dragonfly-cce:ssh.pasword: got a string (value hidden: ssh may hold secrets); " +
                "allowed: no such key; the keys of ssh are user, privateKey, password, bastion, knownHosts, hostKeyPolicy",
        );
        const n = configErrorOf(() => parseStackConfig(set(base(), "nodes[0].password", PASSWORD)));
        expect(n.message).toContain(
            "dragonfly-cce:nodes[0].password: got a string (value hidden: nodes may hold secrets)",
        );
        const b = configErrorOf(() => parseStackConfig(set(base(), "ssh.bastion.password", PASSWORD)));
        expect(b.message).toContain("dragonfly-cce:ssh.bastion.password: got a string (value hidden");
    });

    test("an entry from nodesFromStack is named by its source and hides its value too", () => {
        const source = { stack: "org/nodes/dev", output: "hosts" };
        const raw = { ...base(), nodesFromStack: source };
        const e = configErrorOf(() =>
            parseStackConfig(raw, { entries: [{ host: "192.168.0.11", password: PASSWORD }], source }),
        );
        expect(e.key).toBe("nodesFromStack (output hosts of org/nodes/dev)[0].password");
        expect(leaks(e.message)).toEqual([]);
    });

    test("non-secret keys still show a rejected value of their own type", () => {
        expect(configErrorOf(() => parseStackConfig(set(base(), "nodes[0].host", "not a host!"))).value).toBe(
            '"not a host!"',
        );
        expect(configErrorOf(() => parseStackConfig(set(base(), "ssh.bastion.port", 70000))).value).toBe("70000");
        expect(configErrorOf(() => parseStackConfig(set(base(), "console.nodePort", "80"))).value).toBe('"80"');
        expect(configErrorOf(() => parseStackConfig(set(base(), "ssh.user", "bad user"))).value).toBe('"bad user"');
        const mirror = { ...set(base(), "proxy.basicAuth", true), runtimeMode: "mirror" };
        expect(configErrorOf(() => parseStackConfig(mirror)).value).toBe("true");
    });

    test("a private key's text is hidden wherever it is given", () => {
        const e = configErrorOf(() => parseStackConfig({ ...base(), verify: { image: EC_KEY } }));
        expect(e.key).toBe("verify.image");
        expect(leaks(e.message)).toEqual([]);
        expect(e.value).toBe("a string (value hidden: it looks like a private key)");
    });
});
