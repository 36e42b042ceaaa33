/**
 * Reads the stack's configuration from Pulumi config and parses it (the only place that touches
 * `pulumi.Config`; everything it calls is pure). Cross-key rules live here too.
 */
import * as pulumi from "@pulumi/pulumi";

import { CORE_CONFIG_KEYS, CoreConfig, parseCoreConfig } from "./config";
import { NODE_CONFIG_KEYS, NodeConfig, parseNodeConfig } from "./nodeConfig";
import { CONFIG_NAMESPACE, fail } from "./validate";
import { parseVerifyConfig, VerifyConfig } from "./verify/config";

export interface StackConfig {
    core: CoreConfig;
    nodes: NodeConfig;
    /** The pull check; undefined when `verify.image` is not set. */
    verify?: VerifyConfig;
}

/** Every key the program reads (for the README and for unknown-key checks). */
export const STACK_CONFIG_KEYS = [...CORE_CONFIG_KEYS, ...NODE_CONFIG_KEYS, "verify"] as const;

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

/** Parses every key and checks the rules that span several keys. */
export function parseStackConfig(raw: Partial<Record<(typeof STACK_CONFIG_KEYS)[number], unknown>>): StackConfig {
    const core = parseCoreConfig(raw);
    const nodeRaw: Record<string, unknown> = {};
    for (const k of NODE_CONFIG_KEYS) {
        if (raw[k] !== undefined) {
            nodeRaw[k] = raw[k];
        }
    }
    const nodes = parseNodeConfig(nodeRaw);
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

export function loadStackConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): StackConfig {
    return parseStackConfig(readKeys(config, STACK_CONFIG_KEYS));
}
