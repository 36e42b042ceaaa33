/**
 * The stack's configuration as a whole (every key in the `dragonfly-cce:` namespace). Each domain
 * parses its own keys:
 *
 * - ../cluster/config.ts: the cluster side (pool, namespace, chart, storage, proxy), with
 *   ../console/config.ts for `console`;
 * - ../node/config.ts: the nodes' runtimes over SSH;
 * - ../verify/config.ts: the pull check;
 * - ../agent/config.ts: the in-cluster node agent (`nodeAgent`);
 * - ./validate.ts: the checks they share and {@link ConfigError}; ./proxyCa.ts: `proxy.ca`;
 * - ./stackFile.ts: a `Pulumi.<stack>.yaml` text as config values (for `npm run render`);
 * - this file: {@link parseStackConfig}, all of them at once plus the rules across keys;
 * - ./pulumi.ts: the loading, and the only file that touches Pulumi (reading `pulumi.Config`,
 *   the other stack's output for `nodesFromStack`, wrapping secrets). It is not re-exported
 *   here, so that `npm run render` and the tests of the pure parts never load it.
 */
import { CORE_CONFIG_KEYS, CoreConfig, parseCoreConfig } from "../cluster";
import { activeNodes, NODE_CONFIG_KEYS, NodeConfig, parseNodeConfig } from "../node";
import {
    CONFIG_NAMESPACE,
    ConfigError,
    describeHidden,
    expectObject,
    expectString,
    fail,
    isPlainObject,
} from "./validate";
import { parseVerifyConfig, VerifyConfig } from "../verify";
import { agentNodeSelector, NodeAgentConfig, parseNodeAgentConfig, pinsPool } from "../agent";

/** The whole configuration. `S` is the type of secret values (see `BastionConfig`). */
export interface StackConfig<S = string> {
    /** Cluster-side settings. */
    core: CoreConfig;
    /** The nodes' runtimes. Default: `parseNodeConfig({})` (no nodes). */
    nodes: NodeConfig<S>;
    /** The pull check; undefined (off) when `verify.image` is not set. */
    verify?: VerifyConfig;
    /** The in-cluster node agent (docs/agent.md). Default: off (`enabled: false`). */
    nodeAgent: NodeAgentConfig;
}

/** Every key the program reads (for the README and for unknown-key checks). */
export const STACK_CONFIG_KEYS = [
    ...CORE_CONFIG_KEYS,
    ...NODE_CONFIG_KEYS,
    "nodesFromStack",
    "verify",
    "nodeAgent",
] as const;

export type RawStackConfig = Partial<Record<(typeof STACK_CONFIG_KEYS)[number], unknown>>;

/** Edit distance (insertions, deletions, substitutions) between two strings. */
function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/** The known key nearest to `key`: by edit distance ignoring case, then with case. */
function nearestKey(key: string): string {
    const rank = (k: string) => [editDistance(key.toLowerCase(), k.toLowerCase()), editDistance(key, k)];
    return [...STACK_CONFIG_KEYS].sort((a, b) => {
        const [ra, rb] = [rank(a), rank(b)];
        return ra[0] - rb[0] || ra[1] - rb[1];
    })[0];
}

/**
 * Refuses a key of the `dragonfly-cce:` namespace that the program does not read (a misspelt
 * `runtimemode` would otherwise leave the default in force without a word), naming it and the
 * nearest known key. `keys` are without the namespace; `values` (optional) only say what kind
 * of value it was: an unknown key may be a misspelt secret one, so its value is never shown.
 */
export function checkKnownKeys(keys: readonly string[], values: Record<string, unknown> = {}): void {
    for (const key of keys) {
        if ((STACK_CONFIG_KEYS as readonly string[]).includes(key)) {
            continue;
        }
        const head = key.split(/[.[]/)[0];
        const pathHint = (STACK_CONFIG_KEYS as readonly string[]).includes(head)
            ? `; a key inside ${head} is set with pulumi config set --path '${CONFIG_NAMESPACE}:${key}'`
            : "";
        throw new ConfigError(
            key,
            describeHidden(values[key] ?? "", "an unknown key may hold a secret"),
            `no such key; the nearest known key is ${nearestKey(key)}${pathHint}; the keys of this program are ${STACK_CONFIG_KEYS.join(", ")}`,
        );
    }
}

/** `nodesFromStack`: another stack's output that lists nodes (e.g. a CCE node pool stack's). */
export interface NodesFromStack {
    /** Fully qualified stack name, e.g. `my-org/cce-nodes/dev`. Required. */
    stack: string;
    /** Output name; a list of hosts, or of objects shaped like the entries of `nodes`. Required. */
    output: string;
}

export function parseNodesFromStack(raw: unknown): NodesFromStack | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const o = expectObject("nodesFromStack", raw, ["stack", "output"]);
    const stack = expectString("nodesFromStack.stack", o.stack, "a stack name such as my-org/cce-nodes/dev");
    if (!/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/.test(stack)) {
        fail("nodesFromStack.stack", stack, "a stack name such as my-org/cce-nodes/dev (org/project/stack)");
    }
    const output = expectString("nodesFromStack.output", o.output, "an output name of that stack");
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(output)) {
        fail("nodesFromStack.output", output, "an output name (letters, digits, _)");
    }
    return { stack, output };
}

/**
 * The node entries another stack exports, as `nodes` entries: a host string becomes `{host}`,
 * an object is taken as it is (and validated with the configured nodes). Errors name the source.
 */
export function nodesFromOutput(value: unknown, source: NodesFromStack): unknown[] {
    const key = `nodesFromStack (output ${source.output} of ${source.stack})`;
    if (!Array.isArray(value)) {
        fail(
            key,
            value,
            "a list of node hosts, or of objects like the entries of nodes ({host, name?, port?, user?, runtime?})",
        );
    }
    return value.map((v, i) => {
        if (typeof v === "string") {
            return { host: v };
        }
        if (!isPlainObject(v)) {
            fail(`${key}[${i}]`, v, "a host string or an object like the entries of nodes");
        }
        return v;
    });
}

/** The strings of a secret output that an error must not repeat (runtime names are not secret). */
function secretStrings(value: unknown, key?: string, out: Set<string> = new Set()): Set<string> {
    if (typeof value === "string" && value !== "" && key !== "runtime") {
        out.add(value);
    } else if (Array.isArray(value)) {
        value.forEach((v) => secretStrings(v, undefined, out));
    } else if (isPlainObject(value)) {
        Object.entries(value).forEach(([k, v]) => secretStrings(v, k, out));
    }
    return out;
}

/**
 * A config error about a `nodesFromStack` output that the other stack exports as a secret,
 * without any string of that output: a value from the output is not shown, and where the key or
 * the allowed text repeats one of its strings (the names `verify.node` may take, say), it reads
 * `[secret]`. Pulumi masks only a secret's whole value, not its parts, so this is on us.
 */
export function withoutSecretOutput(e: ConfigError, output: unknown, source: NodesFromStack): ConfigError {
    const strings = [...secretStrings(output)].sort((a, b) => b.length - a.length);
    const mask = (text: string): string =>
        strings.reduce(
            (t, secret) =>
                t.replace(
                    new RegExp(`(?<![\\w.:-])${secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w.:-])`, "g"),
                    "[secret]",
                ),
            text,
        );
    const fromOutput = e.key.startsWith("nodesFromStack (");
    return new ConfigError(
        mask(e.key),
        fromOutput ? `[secret] (output ${source.output} of ${source.stack} is a secret)` : mask(e.value),
        mask(e.allowed),
    );
}

/**
 * Parses every key and checks the rules that span several keys. `stackNodes` are the node
 * entries read from `nodesFromStack`; they follow the configured `nodes`. With `nodesFromStack`
 * set but `stackNodes` not given (the other stack not read yet, or `npm run render`), the node
 * list is not known: `verify` is checked except for its node, and left out of the result.
 */
export function parseStackConfig(
    raw: RawStackConfig,
    stackNodes?: { entries: unknown[]; source: NodesFromStack },
): StackConfig {
    const core = parseCoreConfig(raw);
    const nodeRaw: Record<string, unknown> = {};
    for (const k of NODE_CONFIG_KEYS) {
        if (raw[k] !== undefined) {
            nodeRaw[k] = raw[k];
        }
    }
    const configured = Array.isArray(raw.nodes) ? raw.nodes.length : 0;
    if (stackNodes !== undefined) {
        nodeRaw.nodes = [...(Array.isArray(raw.nodes) ? raw.nodes : []), ...stackNodes.entries];
    }
    let nodes: NodeConfig;
    try {
        nodes = parseNodeConfig(nodeRaw);
    } catch (e) {
        // An entry that came from the other stack: say so, with its index there.
        const m = e instanceof ConfigError && stackNodes ? /^nodes\[(\d+)\](.*)$/.exec(e.key) : null;
        if (m && stackNodes && Number(m[1]) >= configured) {
            const err = e as ConfigError;
            throw new ConfigError(
                `nodesFromStack (output ${stackNodes.source.output} of ${stackNodes.source.stack})[${Number(m[1]) - configured}]${m[2]}`,
                err.value,
                err.allowed,
            );
        }
        throw e;
    }
    const nodeAgent = parseNodeAgentConfig(raw.nodeAgent);
    if (nodeAgent.enabled) {
        checkAgentRules(core, nodes, nodeAgent, raw);
    }
    if (core.proxy.basicAuth && nodes.runtimeMode === "mirror" && (nodes.nodes.length > 0 || nodeAgent.enabled)) {
        fail(
            "proxy.basicAuth",
            true,
            'false when runtimeMode is "mirror" (containerd mirrors carry no proxy credentials); use runtimeMode "proxy" or turn basicAuth off',
        );
    }
    const fromStack = parseNodesFromStack(raw.nodesFromStack);
    const verify = parseVerifyConfig(
        raw.verify,
        fromStack !== undefined && stackNodes === undefined ? undefined : activeNodes(nodes.nodes).map((n) => n.name),
        fromStack === undefined
            ? "nodes"
            : `nodes and nodesFromStack (output ${fromStack.output} of ${fromStack.stack})`,
    );
    const cfg: StackConfig = { core, nodes, nodeAgent };
    if (verify !== undefined) {
        cfg.verify = verify;
    }
    return cfg;
}

/**
 * The rules of an enabled `nodeAgent` across keys (docs/agent.md): one owner per node (no node
 * of `nodes` that is not gone), containerd only, registries to route, a selector that stays on the pool in mirror mode
 * with `mirrorEndpoint: local`, and no pull check (it runs over SSH on a node of `nodes`).
 */
function checkAgentRules(core: CoreConfig, nodes: NodeConfig, agent: NodeAgentConfig, raw: RawStackConfig): void {
    const active = activeNodes(nodes.nodes);
    const docker = nodes.nodes.findIndex((n) => !n.gone && n.runtime === "docker");
    if (docker >= 0) {
        fail(
            "nodeAgent.enabled",
            true,
            `false while nodes lists a Docker node (${nodes.nodes[docker].name}): the agent configures containerd nodes only, ` +
                "because restarting dockerd (without live-restore) kills every container on the node, the agent's own in " +
                "the middle of its apply; Docker nodes stay on the SSH path",
        );
    }
    if (active.length > 0) {
        fail(
            "nodeAgent.enabled",
            true,
            `false while nodes lists nodes that are not gone (${active.map((n) => n.name).join(", ")}): two owners of ` +
                "one node's files would undo each other. To move from SSH to the agent: remove the nodes (their restore " +
                "runs), enable the agent, one pulumi up",
        );
    }
    if (nodes.registries.length === 0 && !nodes.allRegistries) {
        fail(
            "registries",
            raw.registries,
            "at least one registry host when nodeAgent.enabled (or allRegistries: true in mirror mode): the agent routes these registries' pulls through Dragonfly",
        );
    }
    const pool = { labelKey: core.nodePoolLabelKey, name: core.nodePool };
    const localMirror = nodes.runtimeMode === "mirror" && nodes.mirrorEndpoint === "local";
    if (localMirror && !pinsPool(agentNodeSelector(agent, pool, localMirror), pool)) {
        fail(
            "nodeAgent.nodeSelector",
            agent.nodeSelector,
            `a selector that includes ${JSON.stringify({ [pool.labelKey]: pool.name })} when runtimeMode is "mirror" with ` +
                'mirrorEndpoint "local": containerd then pulls from the Dragonfly client on the node itself, which runs ' +
                "only on the pool's nodes (leave nodeSelector out for that default)",
        );
    }
    const verify = raw.verify;
    if (isPlainObject(verify) && verify.image !== undefined && verify.image !== null) {
        fail(
            "verify",
            verify,
            "no pull check while nodeAgent.enabled (leave verify out): the check pulls over SSH on a node of nodes, " +
                "and nodes cannot list nodes while the agent configures them; agentNodes lists the nodes the agent configured",
        );
    }
}
