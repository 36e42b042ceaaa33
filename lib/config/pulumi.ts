/**
 * The Pulumi edge of the configuration: reads the keys from `pulumi.Config`, follows
 * `nodesFromStack` through a StackReference, and wraps the SSH secrets in `pulumi.secret`.
 * Everything it calls is pure (./index.ts).
 */
import * as pulumi from "@pulumi/pulumi";

import {
    checkKnownKeys,
    nodesFromOutput,
    parseNodesFromStack,
    parseStackConfig,
    STACK_CONFIG_KEYS,
    StackConfig,
    withoutSecretOutput,
} from "./";
import { NodeConfig } from "../node";
import { CONFIG_NAMESPACE, ConfigError, fail } from "./validate";

/** Secret values as the stack holds them. */
export type Secret = pulumi.Output<string>;

/**
 * Values of `keys` (undefined when unset). Structured values (objects, lists) arrive as JSON
 * text and are parsed; scalars stay text (the validators accept "true" and "4001"), so a node
 * pool named "123" stays a string. Secret keys are read as plain values here; {@link withSecrets}
 * wraps the SSH ones, `DragonflyCce` the kubeconfig.
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
 * Refuses keys of `config`'s namespace that the program does not read (see `checkKnownKeys`):
 * `pulumi.Config` answers only for keys it is asked about, so the whole config map is read.
 */
export function checkNamespaceKeys(config: pulumi.Config): void {
    const prefix = `${config.name}:`;
    const all = pulumi.runtime.allConfig();
    const keys = Object.keys(all)
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length));
    checkKnownKeys(keys, Object.fromEntries(keys.map((k) => [k, all[prefix + k]])));
}

/** The node settings with the SSH private keys and password as Pulumi secrets. */
export function withSecrets(nodes: NodeConfig): NodeConfig<Secret> {
    const secret = (v: string | undefined) => (v === undefined ? undefined : pulumi.secret(v));
    const { bastion, ...ssh } = nodes.ssh;
    return {
        ...nodes,
        ssh: {
            ...ssh,
            privateKey: secret(ssh.privateKey),
            password: secret(ssh.password),
            ...(bastion === undefined ? {} : { bastion: { ...bastion, privateKey: secret(bastion.privateKey) } }),
        },
    };
}

/**
 * Whether the CLI passed `key` as a secret (PULUMI_CONFIG_SECRET_KEYS). Pulumi lists only top-level
 * keys: a key is secret when any path of it was set with `--secret`. The SDK's own test for that
 * is not in its typings; should it ever be missing, the key counts as secret (the safe side).
 */
export function isSecretConfigKey(config: pulumi.Config, key: string): boolean {
    const test = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return typeof test === "function" ? test(`${config.name}:${key}`) : true;
}

/** The config with the SSH secrets wrapped, and whether `helmValues` was set as a secret. */
function secretStack(cfg: StackConfig, config: pulumi.Config): StackConfig<Secret> {
    const core = isSecretConfigKey(config, "helmValues") ? { ...cfg.core, helmValuesSecret: true } : cfg.core;
    return { ...cfg, core, nodes: withSecrets(cfg.nodes) };
}

/**
 * The stack's configuration. Everything is validated at once; only with `nodesFromStack` does
 * the result wait for the other stack's output (read through a StackReference).
 */
export function loadStackConfig(
    config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE),
): StackConfig<Secret> | Promise<StackConfig<Secret>> {
    checkNamespaceKeys(config);
    const raw = readKeys(config, STACK_CONFIG_KEYS);
    const source = parseNodesFromStack(raw.nodesFromStack);
    // Validate everything this stack's own config says before looking at the other stack; the
    // node verify pulls on is checked once the whole node list is known.
    const own = parseStackConfig(raw);
    if (source === undefined) {
        return secretStack(own, config);
    }
    const ref = new pulumi.StackReference(`nodes-from-${source.stack.replace(/\//g, "-")}`, { name: source.stack });
    return ref.getOutputDetails(source.output).then((details) => {
        const value = details.value ?? details.secretValue;
        if (value === undefined) {
            fail(`nodesFromStack.output`, source.output, `an output that stack ${source.stack} exports`);
        }
        if (details.value !== undefined) {
            return secretStack(parseStackConfig(raw, { entries: nodesFromOutput(value, source), source }), config);
        }
        let cfg: StackConfig;
        try {
            cfg = parseStackConfig(raw, { entries: nodesFromOutput(value, source), source });
        } catch (e) {
            throw e instanceof ConfigError ? withoutSecretOutput(e, value, source) : e;
        }
        pulumi.log.warn(
            `nodesFromStack: output ${source.output} of ${source.stack} is a secret, but its node names and hosts ` +
                "are not kept secret: they name the node resources (resource names cannot be secret), and previews, " +
                "warnings, the state and the configuredNodes output show them. Config errors do not repeat them.",
        );
        return secretStack(cfg, config);
    });
}

/** Runs `build` on the config now, or when a `nodesFromStack` config is ready. */
export function whenReady<T>(
    config: StackConfig<Secret> | Promise<StackConfig<Secret>>,
    build: (c: StackConfig<Secret>) => T,
): Promise<T> {
    return config instanceof Promise ? config.then(build) : Promise.resolve(build(config));
}
