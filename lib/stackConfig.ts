/**
 * Reads the stack's configuration from Pulumi config and parses it (the only place that touches
 * `pulumi.Config`; everything it calls is pure). Cross-key rules live here too.
 */
import * as pulumi from "@pulumi/pulumi";

import { CORE_CONFIG_KEYS, CoreConfig, parseCoreConfig } from "./config";
import { NODE_CONFIG_KEYS, NodeConfig, parseNodeConfig } from "./nodeConfig";
import { CONFIG_NAMESPACE, ConfigError, expectObject, expectString, fail, isPlainObject } from "./validate";
import { parseVerifyConfig, VerifyConfig } from "./verify/config";

export interface StackConfig {
    core: CoreConfig;
    nodes: NodeConfig;
    /** The pull check; undefined when `verify.image` is not set. */
    verify?: VerifyConfig;
}

/** Every key the program reads (for the README and for unknown-key checks). */
export const STACK_CONFIG_KEYS = [...CORE_CONFIG_KEYS, ...NODE_CONFIG_KEYS, "nodesFromStack", "verify"] as const;

type RawStackConfig = Partial<Record<(typeof STACK_CONFIG_KEYS)[number], unknown>>;

/** `nodesFromStack`: another stack's output that lists nodes (e.g. a CCE node pool stack's). */
export interface NodesFromStack {
    /** Fully qualified stack name, e.g. `my-org/cce-nodes/dev`. */
    stack: string;
    /** Output name; a list of hosts, or of objects shaped like the entries of `nodes`. */
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

/**
 * Plain values of `keys` (undefined when unset). Structured values (objects, lists) arrive as
 * JSON text and are parsed; scalars stay text (the validators accept "true" and "4001"), so a
 * node pool named "123" stays a string. Secret keys are read as plain values here and wrapped in
 * `pulumi.secret` by the parsers and components that use them.
 */
export function readKeys<K extends string>(config: pulumi.Config, keys: readonly K[]): Partial<Record<K, unknown>> {
    const raw: Partial<Record<K, unknown>> = {};
    for (const key of keys) {
        const text = config.get(key);
        if (text === undefined) {
            continue;
        }
        const trimmed = text.trim();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            try {
                raw[key] = JSON.parse(trimmed);
                continue;
            } catch {
                // Not JSON after all (e.g. a YAML kubeconfig starting with "["): keep the text.
            }
        }
        raw[key] = text;
    }
    return raw;
}

/**
 * Parses every key and checks the rules that span several keys. `stackNodes` are the node
 * entries read from `nodesFromStack`; they follow the configured `nodes`.
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
    if (core.proxy.basicAuth && nodes.runtimeMode === "mirror" && nodes.nodes.length > 0) {
        fail(
            "proxy.basicAuth",
            true,
            'false when runtimeMode is "mirror" (containerd mirrors carry no proxy credentials); use runtimeMode "proxy" or turn basicAuth off',
        );
    }
    const verify = parseVerifyConfig(
        raw.verify,
        nodes.nodes.map((n) => n.name),
    );
    const cfg: StackConfig = { core, nodes };
    if (verify !== undefined) {
        cfg.verify = verify;
    }
    return cfg;
}

/**
 * The stack's configuration. Everything is validated at once; only with `nodesFromStack` does
 * the result wait for the other stack's output (read through a StackReference).
 */
export function loadStackConfig(
    config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE),
): StackConfig | Promise<StackConfig> {
    const raw = readKeys(config, STACK_CONFIG_KEYS);
    const source = parseNodesFromStack(raw.nodesFromStack);
    // Validate everything this stack's own config says before looking at the other stack.
    const own = parseStackConfig(raw);
    if (source === undefined) {
        return own;
    }
    const ref = new pulumi.StackReference(`nodes-from-${source.stack.replace(/\//g, "-")}`, { name: source.stack });
    return ref.getOutputDetails(source.output).then((details) => {
        const value = details.value ?? details.secretValue;
        if (value === undefined) {
            fail(`nodesFromStack.output`, source.output, `an output that stack ${source.stack} exports`);
        }
        return parseStackConfig(raw, { entries: nodesFromOutput(value, source), source });
    });
}

/** Runs `build` on the config now, or when a `nodesFromStack` config is ready. */
export function whenReady<T>(config: StackConfig | Promise<StackConfig>, build: (c: StackConfig) => T): Promise<T> {
    return config instanceof Promise ? config.then(build) : Promise.resolve(build(config));
}
