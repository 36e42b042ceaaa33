/**
 * NodeFleet: one {@link NodeRuntime} per configured node, rolled out in batches of
 * `rollout.maxParallel` (each batch waits for the previous one), all after the resources given
 * in `dependsOn` (the Dragonfly release and the proxy LoadBalancer).
 */
import * as pulumi from "@pulumi/pulumi";
import { buildNoProxy, LOCAL_ENDPOINT, NodeConfig } from "../lib/nodeConfig";
import { NodeRuntime } from "./nodeRuntime";

export interface NodeFleetArgs {
    /** The validated node configuration (`parseNodeConfig`). */
    config: NodeConfig;
    /** The Dragonfly client proxy URL "http://IP:4001" (the proxy LoadBalancer's address). */
    endpoint: pulumi.Input<string>;
    /** Secret "user:password" when the proxy requires authentication (proxy mode). */
    proxyCredentials?: pulumi.Input<string>;
    /**
     * The endpoint for `mirrorEndpoint: local` (the Dragonfly client on the node itself);
     * default {@link LOCAL_ENDPOINT}. Follows `proxy.port` when the stack sets it.
     */
    localEndpoint?: string;
    /** What must exist before any node is touched: the release and the proxy LoadBalancer. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Splits `items` into consecutive batches of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) {
        out.push(items.slice(i, i + size));
    }
    return out;
}

export class NodeFleet extends pulumi.ComponentResource {
    /** Names of the nodes configured (in config order). */
    public readonly configuredNodes: pulumi.Output<string[]>;
    /** The NO_PROXY list the nodes get. */
    public readonly noProxy: pulumi.Output<string>;
    /** The per-node components, in config order. */
    public readonly runtimes: NodeRuntime[] = [];

    constructor(name: string, args: NodeFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeFleet", name, {}, opts);
        const cfg = args.config;
        const noProxy = buildNoProxy(cfg.noProxy, cfg.clusterCidrs);
        const endpoint =
            cfg.runtimeMode === "mirror" && cfg.mirrorEndpoint === "local"
                ? (args.localEndpoint ?? LOCAL_ENDPOINT)
                : args.endpoint;
        if (cfg.nodes.length === 0) {
            pulumi.log.info("nodes is empty: no node's container runtime is configured", this);
        }
        let previous: pulumi.Resource[] = [];
        for (const batch of batches(cfg.nodes, cfg.rollout.maxParallel)) {
            const current = batch.map(
                (node) =>
                    new NodeRuntime(
                        `${name}-${node.name}`,
                        {
                            node,
                            ssh: cfg.ssh,
                            spec: {
                                runtime: node.runtime,
                                mode: node.runtime === "docker" ? "proxy" : cfg.runtimeMode,
                                registries: cfg.registries,
                                allRegistries: cfg.allRegistries,
                                noProxy,
                            },
                            endpoint,
                            proxyCredentials: cfg.runtimeMode === "proxy" ? args.proxyCredentials : undefined,
                        },
                        { parent: this, dependsOn: [...(args.dependsOn ?? []), ...previous] },
                    ),
            );
            this.runtimes.push(...current);
            previous = current;
        }
        this.configuredNodes = pulumi.output(cfg.nodes.map((n) => n.name));
        this.noProxy = pulumi.output(noProxy.join(","));
        this.registerOutputs({ configuredNodes: this.configuredNodes, noProxy: this.noProxy });
    }
}
