/**
 * `npm run render`: what the stack would apply, as files, from the same functions the stack uses,
 * without a cluster and without the Pulumi CLI (pure; scripts/render.ts writes the files).
 *
 * - `namespace.yaml`, `values.yaml` (the Helm values without secrets), `values.secrets.yaml`
 *   (fresh random secrets in place of the stack's, mode 0600: for `helm install -f values.yaml -f
 *   values.secrets.yaml` by hand), `proxy-service.yaml`, `console-service.yaml`;
 * - `nodes/<name>/apply.sh`, `nodes/<name>/restore.sh`: each node's scripts as the remote
 *   command runs them;
 * - `README.txt`: how to apply them by hand, in the seed document's order.
 */
import { randomBytes } from "crypto";
import { parse, stringify } from "yaml";

import { CoreConfig } from "./config";
import { buildHelmValues, Values } from "./helmValues";
import { buildNoProxy, LOCAL_ENDPOINT, NodeConfig } from "./nodeConfig";
import { applyScript, NodeScriptSpec, restoreScript } from "./node/scripts";
import { consoleServiceManifest, proxyServiceManifest } from "./services";
import { parseStackConfig, STACK_CONFIG_KEYS, StackConfig } from "./stackConfig";
import { CONFIG_NAMESPACE, fail, isPlainObject } from "./validate";

/** Host used in node scripts when the proxy address is not known before deployment (RFC 2606). */
export const UNKNOWN_PROXY_HOST = "proxy-address.invalid";

/** Stands in for a `secure:` value of the stack file, which only the Pulumi CLI can decrypt. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
    "ssh.privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\n(not rendered)\n-----END OPENSSH PRIVATE KEY-----\n",
    "ssh.bastion.privateKey":
        "-----BEGIN OPENSSH PRIVATE KEY-----\n(not rendered)\n-----END OPENSSH PRIVATE KEY-----\n",
};

export interface RenderedFile {
    path: string;
    content: string;
    /** File mode: 0o600 for files holding secrets. */
    mode: number;
}

export interface RenderOptions {
    /** The proxy's `HOST` (the LoadBalancer address) when `proxy.address` is not configured. */
    proxyHost?: string;
    /** Random bytes source (tests pass a fixed one). */
    random?: (n: number) => Buffer;
}

/**
 * The stack's config keys from a `Pulumi.<stack>.yaml` text, without the namespace. `secure:`
 * values become placeholders (SSH keys) or are dropped (anything else: kubeconfig), since only the
 * Pulumi CLI can decrypt them and nothing rendered needs them.
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
        if (!(STACK_CONFIG_KEYS as readonly string[]).includes(key)) {
            fail(key, value, `a key of this program: ${STACK_CONFIG_KEYS.join(", ")}`);
        }
        const cleared = replaceSecure(value, [key]);
        if (cleared !== undefined) {
            raw[key] = cleared;
        }
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

/** Marks a secret leaf so that {@link splitSecrets} can take it out of the values. */
class SecretSlot {
    constructor(public readonly name: string) {}
}

/** Splits a value tree into the plain values and the secret leaves (filled by `fill`). */
export function splitSecrets(
    values: Values<SecretSlot>,
    fill: (slot: string) => string,
): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
    const walk = (v: unknown): [unknown, unknown] => {
        if (v instanceof SecretSlot) {
            return [undefined, fill(v.name)];
        }
        if (isPlainObject(v)) {
            const plain: Record<string, unknown> = {};
            const secret: Record<string, unknown> = {};
            for (const [k, c] of Object.entries(v)) {
                const [p, s] = walk(c);
                if (p !== undefined) {
                    plain[k] = p;
                }
                if (s !== undefined) {
                    secret[k] = s;
                }
            }
            return [
                Object.keys(plain).length > 0 ? plain : undefined,
                Object.keys(secret).length > 0 ? secret : undefined,
            ];
        }
        return [v, undefined];
    };
    const [plain, secrets] = walk(values);
    return { plain: (plain ?? {}) as Record<string, unknown>, secrets: (secrets ?? {}) as Record<string, unknown> };
}

/** The script spec of one node, exactly as NodeFleet builds it. */
export function nodeSpec(nodes: NodeConfig, runtime: "containerd" | "docker", endpoint: string): NodeScriptSpec {
    return {
        runtime,
        mode: runtime === "docker" ? "proxy" : nodes.runtimeMode,
        endpoint,
        registries: nodes.registries,
        allRegistries: nodes.allRegistries,
        noProxy: buildNoProxy(nodes.noProxy, nodes.clusterCidrs),
    };
}

function yamlDoc(header: string, value: unknown): string {
    return `# ${header}\n${stringify(value, { lineWidth: 0 })}`;
}

/** Everything the stack would apply for `cfg`, as files. */
export function renderStack(cfg: StackConfig, opts: RenderOptions = {}): RenderedFile[] {
    const core: CoreConfig = cfg.core;
    const random = opts.random ?? randomBytes;
    const secret = (length: number) =>
        random(length)
            .toString("base64")
            .replace(/[^A-Za-z0-9]/g, "")
            .padEnd(length, "0")
            .slice(0, length);
    const values = buildHelmValues<SecretSlot>(core, {
        mysqlRootPassword: new SecretSlot("mysqlRootPassword"),
        mysqlPassword: new SecretSlot("mysqlPassword"),
        redisPassword: new SecretSlot("redisPassword"),
        jwtKey: new SecretSlot("jwtKey"),
        proxyPassword: new SecretSlot("proxyPassword"),
    });
    const lengths: Record<string, number> = { jwtKey: 48, proxyPassword: 24 };
    const { plain, secrets } = splitSecrets(values, (slot) => secret(lengths[slot] ?? 32));

    const host = core.proxy.address ?? opts.proxyHost ?? UNKNOWN_PROXY_HOST;
    const hostInUrl = host.includes(":") ? `[${host}]` : host;
    const lbEndpoint = `http://${hostInUrl}:${core.proxy.port}`;
    const endpoint =
        cfg.nodes.runtimeMode === "mirror" && cfg.nodes.mirrorEndpoint === "local"
            ? `http://127.0.0.1:${core.proxy.port}`
            : lbEndpoint;

    const files: RenderedFile[] = [
        {
            path: "namespace.yaml",
            content: yamlDoc("The namespace the stack owns", {
                apiVersion: "v1",
                kind: "Namespace",
                metadata: {
                    name: core.namespace,
                    labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "dragonfly" },
                },
            }),
            mode: 0o644,
        },
        {
            path: "values.yaml",
            content: yamlDoc(
                `Helm values of release ${core.releaseName} (chart ${core.chart.path ?? `dragonfly ${core.chart.version}`}); secrets are in values.secrets.yaml`,
                plain,
            ),
            mode: 0o644,
        },
        {
            path: "values.secrets.yaml",
            content: yamlDoc(
                "Fresh random secrets for a hand-made install (the stack's own live in its state). Keep private.",
                secrets,
            ),
            mode: 0o600,
        },
        {
            path: "proxy-service.yaml",
            content: yamlDoc("LoadBalancer for the Dragonfly client proxy", proxyServiceManifest(core)),
            mode: 0o644,
        },
        {
            path: "console-service.yaml",
            content: yamlDoc("NodePort for the Dragonfly console", consoleServiceManifest(core)),
            mode: 0o644,
        },
    ];
    for (const node of cfg.nodes.nodes) {
        const spec = nodeSpec(cfg.nodes, node.runtime, endpoint);
        files.push(
            { path: `nodes/${node.name}/apply.sh`, content: applyScript(spec), mode: 0o755 },
            {
                path: `nodes/${node.name}/restore.sh`,
                content: restoreScript({ ...spec, endpoint: LOCAL_ENDPOINT }),
                mode: 0o755,
            },
        );
    }
    files.push({ path: "README.txt", content: readme(core, cfg, host), mode: 0o644 });
    return files;
}

function readme(core: CoreConfig, cfg: StackConfig, host: string): string {
    const chart = core.chart.path
        ? core.chart.path
        : `dragonfly --repo ${core.chart.repo} --version ${core.chart.version}`;
    const lines = [
        "What the stack applies, for review or for applying by hand (the seed document's order):",
        "",
        "  kubectl apply -f namespace.yaml",
        `  helm install --wait --atomic --namespace ${core.namespace} ${core.releaseName} ${chart} \\`,
        "    -f values.yaml -f values.secrets.yaml",
        "  kubectl apply -f proxy-service.yaml -f console-service.yaml",
        "",
        "Then on each node, as root: bash nodes/<name>/apply.sh (restore.sh undoes it).",
    ];
    if (host === UNKNOWN_PROXY_HOST && cfg.nodes.nodes.length > 0) {
        lines.push(
            "",
            `The node scripts use ${UNKNOWN_PROXY_HOST} as the proxy host: render again with`,
            "--proxy-address <LoadBalancer IP> once the proxy Service has its address.",
        );
    }
    return `${lines.join("\n")}\n`;
}

/** Parses a stack file's text into the stack config (the same parser the program uses). */
export function stackConfigFromFile(text: string): StackConfig {
    return parseStackConfig(configFromStackFile(text));
}
