/**
 * `npm run render`: what the stack would apply, as files, from the same functions the stack uses,
 * without a cluster and without the Pulumi CLI (pure; scripts/render.ts writes the files).
 *
 * - `namespace.yaml`, `values.yaml` (the Helm values without secrets), `values.secrets.yaml`
 *   (fresh random secrets in place of the stack's, mode 0600: for `helm install -f values.yaml -f
 *   values.secrets.yaml` by hand), `proxy-service.yaml`, `console-service.yaml`;
 * - `nodes/<name>/apply.sh`, `nodes/<name>/restore.sh`: each node's scripts as the remote
 *   command runs them;
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
    const { plain, secrets } = splitSecrets(values, (slot) =>
        secret(SECRET_LENGTHS[slot as keyof ReleaseSecrets<unknown>]),
    );

    const host = core.proxy.address ?? opts.proxyHost ?? UNKNOWN_PROXY_HOST;
    const plan = planNodes(cfg.nodes, {
        proxyUrl: httpUrl(host, core.proxy.port),
        proxyPort: core.proxy.port,
        proxyAuth: core.proxy.basicAuth,
        proxyCa: core.proxy.ca,
    });

    const files: RenderedFile[] = [
        {
            path: "namespace.yaml",
            content: yamlDoc("The namespace the stack owns", namespaceManifest(core)),
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
        "Then on each node, as root: bash nodes/<name>/apply.sh (restore.sh undoes it).",
    ];
    if (cfg.nodes.nodes.length > 0 && core.proxy.basicAuth && cfg.nodes.runtimeMode === "proxy") {
        lines.push(
            "The proxy requires basic auth: apply.sh reads one line user:password on stdin, e.g.",
            `  printf '${PROXY_BASIC_AUTH_USERNAME}:%s\\n' "$PROXY_PASSWORD" | bash nodes/<name>/apply.sh`,
            "with the proxy password from values.secrets.yaml.",
        );
    }
    if (host === UNKNOWN_PROXY_HOST && cfg.nodes.nodes.length > 0) {
        lines.push(
            "",
            `The node scripts use ${UNKNOWN_PROXY_HOST} as the proxy host: render again with`,
            "--proxy-address <LoadBalancer IP> once the proxy Service has its address.",
        );
    }
    return `${lines.join("\n")}\n`;
}
