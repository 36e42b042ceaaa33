/**
 * Reads the stack's configuration from Pulumi config and parses it (the only place that touches
 * `pulumi.Config`; everything it calls is pure).
 */
import * as pulumi from "@pulumi/pulumi";

import { CORE_CONFIG_KEYS, CoreConfig, parseCoreConfig } from "./config";
import { CONFIG_NAMESPACE } from "./validate";

export interface StackConfig {
    core: CoreConfig;
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

export function loadStackConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): StackConfig {
    return { core: parseCoreConfig(readKeys(config, CORE_CONFIG_KEYS)) };
}
