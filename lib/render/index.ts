/**
 * `npm run render`: what the stack would apply, as files, from the same functions the stack uses,
 * without a cluster and without the Pulumi CLI (pure; scripts/render.ts writes the files).
 *
 * - `namespace.yaml`, `values.yaml` (the Helm values without secrets), `values.secrets.yaml`
 *   (fresh random secrets in place of the stack's, mode 0600: for `helm install -f values.yaml -f
 *   values.secrets.yaml` by hand), `proxy-service.yaml`, `console-service.yaml`;
 * - `nodes/<name>/apply.sh`, `nodes/<name>/restore.sh`: each node's scripts as the remote
 *   command runs them;
 * - with `nodeAgent.enabled`: the namespace with the agent's Pod Security label and its reason,
 *   `agent/agent.yaml` (ServiceAccount, Role, RoleBinding, status ConfigMap, DaemonSet) and
 *   `agent/secret.yaml` (the Secret with the entrypoint and the scripts, and the proxy
 *   credentials when the proxy requires basic auth: mode 0600);
 * - `README.txt`: how to apply them by hand, in the
 *   [seed document](../../README.md#the-seed-document)'s order.
 */
import { randomBytes } from "crypto";
import { stringify } from "yaml";

import { StackConfig } from "../config";
import { isPlainObject } from "../config/validate";
import {
    buildHelmValues,
    deepMerge,
    PROXY_BASIC_AUTH_USERNAME,
    PROXY_CA_FILES,
    proxyCaSecretName,
    ReleaseSecrets,
    SECRET_LENGTHS,
    Values,
    consoleServiceManifest,
    CoreConfig,
    namespaceManifest,
    proxyServiceManifest,
} from "../cluster";
import { httpUrl } from "../remote/hosts";
import { applyScript, planNodes, restoreScript } from "../node";
import {
    agentConfigHash,
    agentNamespaceMetadata,
    agentScripts,
    agentSecretData,
    agentSecretManifest,
    daemonSetManifest,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../agent";

/** Host used in node scripts when the proxy address is not known before deployment (RFC 2606). */
export const UNKNOWN_PROXY_HOST = "proxy-address.invalid";

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
 * Marks a secret leaf so that {@link splitSecrets} can take it out of the values: a generated
 * secret by name, or a secret leaf of `helmValues` with its given value.
 */
class SecretSlot {
    constructor(
        public readonly name: string,
        public readonly value?: string | number | boolean,
    ) {}
}

/** Splits a value tree into the plain values and the secret leaves (filled by `fill`). */
export function splitSecrets(
    values: Values<SecretSlot>,
    fill: (slot: string) => string,
): { plain: Record<string, unknown>; secrets: Record<string, unknown> } {
    const walk = (v: unknown): [unknown, unknown] => {
        if (v instanceof SecretSlot) {
            return [undefined, v.value ?? fill(v.name)];
        }
        if (Array.isArray(v)) {
            // Helm replaces a list whole: one that holds a secret goes whole to the secrets.
            const items = v.map(walk);
            return items.some(([, s]) => s !== undefined)
                ? [undefined, items.map(([p, s]) => (s === undefined ? p : p === undefined ? s : deepMerge(p, s)))]
                : [v, undefined];
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

function yamlDoc(header: string, value: unknown): string {
    return `# ${header}\n${stringify(value, { lineWidth: 0 })}`;
}

/** Several YAML documents in one file (`kubectl apply -f` takes them in order). */
function yamlDocs(header: string, values: unknown[]): string {
    return `# ${header}\n${values.map((v) => stringify(v, { lineWidth: 0 })).join("---\n")}`;
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
    const slots = Object.fromEntries(
        Object.keys(SECRET_LENGTHS).map((k) => [k, new SecretSlot(k)]),
    ) as unknown as ReleaseSecrets<SecretSlot>;
    const values = buildHelmValues<SecretSlot>(core, slots, (v) => new SecretSlot("helmValues", v));
    // One value per generated secret, wherever it is used (the agent's Secret reuses the proxy password).
    const generated = new Map<string, string>();
    const fill = (slot: string): string => {
        let v = generated.get(slot);
        if (v === undefined) {
            v = secret(SECRET_LENGTHS[slot as keyof ReleaseSecrets<unknown>]);
            generated.set(slot, v);
        }
        return v;
    };
    const { plain, secrets } = splitSecrets(values, fill);

    const host = core.proxy.address ?? opts.proxyHost ?? UNKNOWN_PROXY_HOST;
    const plan = planNodes(cfg.nodes, {
        proxyUrl: httpUrl(host, core.proxy.port),
        proxyPort: core.proxy.port,
        proxyAuth: core.proxy.basicAuth,
        proxyCa: core.proxy.ca,
    });

    const agentOn = cfg.nodeAgent.enabled;
    const namespace = namespaceManifest(core);
    const agentNs = agentNamespaceMetadata();
    const files: RenderedFile[] = [
        {
            path: "namespace.yaml",
            content: yamlDoc(
                "The namespace the stack owns",
                agentOn
                    ? {
                          ...namespace,
                          metadata: {
                              ...namespace.metadata,
                              labels: { ...namespace.metadata.labels, ...agentNs.labels },
                              annotations: { ...agentNs.annotations },
                          },
                      }
                    : namespace,
            ),
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
    for (const { node, spec, endpoint } of plan.filter((p) => !p.node.gone)) {
        files.push(
            { path: `nodes/${node.name}/apply.sh`, content: applyScript({ ...spec, endpoint }), mode: 0o755 },
            { path: `nodes/${node.name}/restore.sh`, content: restoreScript(spec), mode: 0o755 },
        );
    }
    if (agentOn) {
        files.push(...renderAgent(cfg, httpUrl(host, core.proxy.port), () => fill("proxyPassword")));
    }
    files.push({ path: "README.txt", content: readme(core, cfg, host), mode: 0o644 });
    return files;
}

/**
 * The node agent's objects as the stack creates them (lib/agent's manifests): the Secret alone in
 * its own file (it holds the proxy credentials with `proxy.basicAuth`: mode 0600).
 */
function renderAgent(cfg: StackConfig, proxyUrl: string, proxyPassword: () => string): RenderedFile[] {
    const stack = { core: cfg.core, nodes: cfg.nodes, nodeAgent: cfg.nodeAgent };
    const scripts = agentScripts(stack, proxyUrl);
    const hash = agentConfigHash(scripts);
    const data = agentSecretData(
        scripts,
        scripts.proxyAuth ? `${PROXY_BASIC_AUTH_USERNAME}:${proxyPassword()}` : undefined,
    );
    return [
        {
            path: "agent/secret.yaml",
            content: yamlDoc(
                scripts.proxyAuth
                    ? "The node agent's Secret: its scripts and the proxy credentials (the password of values.secrets.yaml). Keep private."
                    : "The node agent's Secret: its entrypoint and the node's scripts",
                agentSecretManifest(stack, hash, data),
            ),
            mode: scripts.proxyAuth ? 0o600 : 0o644,
        },
        {
            path: "agent/agent.yaml",
            content: yamlDocs("The node agent (dragonfly-cce:nodeAgent): its account, its rights, its status, its DaemonSet", [
                serviceAccountManifest(stack),
                roleManifest(stack),
                roleBindingManifest(stack),
                statusConfigMapManifest(stack),
                daemonSetManifest(stack, hash),
            ]),
            mode: 0o644,
        },
    ];
}

function readme(core: CoreConfig, cfg: StackConfig, host: string): string {
    const chart = core.chart.path
        ? core.chart.path
        : `dragonfly --repo ${core.chart.repo} --version ${core.chart.version}`;
    const lines = [
        "What the stack applies, for review or for applying by hand (the seed document's order):",
        "",
        "  kubectl apply -f namespace.yaml",
        ...(core.proxy.ca === undefined
            ? []
            : [
                  `  kubectl -n ${core.namespace} create secret generic ${proxyCaSecretName(core.releaseName)} \\`,
                  `    --from-file=${PROXY_CA_FILES.certificate}=<the CA certificate> --from-file=${PROXY_CA_FILES.key}=<its key>`,
              ]),
        `  helm install --wait --atomic --namespace ${core.namespace} ${core.releaseName} ${chart} \\`,
        "    -f values.yaml -f values.secrets.yaml --post-renderer <this repository>/lib/cluster/helmPostRender.js",
        "  (the post-renderer puts the Dragonfly config files, which hold the secrets, in Secrets, not ConfigMaps)",
        "  kubectl apply -f proxy-service.yaml -f console-service.yaml",
        "",
        ...(cfg.nodeAgent.enabled
            ? [
                  "",
                  "The node agent configures the nodes from inside the cluster (namespace.yaml lets its privileged pods in):",
                  "  kubectl apply -f agent/secret.yaml -f agent/agent.yaml",
                  `  kubectl -n ${core.namespace} rollout status daemonset/dragonfly-node-agent`,
                  "Delete the DaemonSet first (its pods restore their nodes), then the rest of agent/.",
              ]
            : ["Then on each node, as root: bash nodes/<name>/apply.sh (restore.sh undoes it)."]),
    ];
    if (cfg.nodes.nodes.length > 0 && core.proxy.basicAuth && cfg.nodes.runtimeMode === "proxy") {
        lines.push(
            "The proxy requires basic auth: apply.sh reads one line user:password on stdin, e.g.",
            `  printf '${PROXY_BASIC_AUTH_USERNAME}:%s\\n' "$PROXY_PASSWORD" | bash nodes/<name>/apply.sh`,
            "with the proxy password from values.secrets.yaml.",
        );
    }
    if (host === UNKNOWN_PROXY_HOST && (cfg.nodes.nodes.length > 0 || cfg.nodeAgent.enabled)) {
        lines.push(
            "",
            `The node scripts use ${UNKNOWN_PROXY_HOST} as the proxy host: render again with`,
            "--proxy-address <LoadBalancer IP> once the proxy Service has its address.",
        );
    }
    return `${lines.join("\n")}\n`;
}
