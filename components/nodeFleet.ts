/**
 * NodeFleet: one {@link NodeRuntime} per configured node, rolled out in batches of
 * `rollout.maxParallel` (each batch waits for the previous one), all after the resources given
 * in `dependsOn` (the Dragonfly release and the proxy LoadBalancer).
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_PROXY_PORT } from "../lib/config/core";
import { buildNoProxy, NodeConfig } from "../lib/config/nodes";
import { NodePlan, planNodes } from "../lib/node/plan";
import { NodeRuntime } from "./nodeRuntime";

export interface NodeFleetArgs {
    /** The validated node configuration (`parseNodeConfig`). */
    config: NodeConfig<pulumi.Input<string>>;
    /** The Dragonfly client proxy URL "http://IP:4001" (the proxy LoadBalancer's address). */
    endpoint: pulumi.Input<string>;
    /**
     * Secret "user:password" when the proxy requires authentication (`proxy.basicAuth`); the
     * proxy-mode nodes get it on stdin.
     */
    proxyCredentials?: pulumi.Input<string>;
    /** `proxy.port`, the port of the node's own client for `mirrorEndpoint: local`. Default 4001. */
    proxyPort?: number;
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
    /** The per-node plan (`planNodes`), in config order. */
    public readonly plan: NodePlan<pulumi.Input<string>>[];
    /** The per-node components, in config order. */
    public readonly runtimes: NodeRuntime[] = [];

    constructor(name: string, args: NodeFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeFleet", name, {}, opts);
        const cfg = args.config;
        const noProxy = buildNoProxy(cfg.noProxy, cfg.clusterCidrs);
        const plan = (this.plan = planNodes(cfg, {
            proxyUrl: args.endpoint,
            proxyPort: args.proxyPort ?? DEFAULT_PROXY_PORT,
            proxyAuth: args.proxyCredentials !== undefined,
        }));
        if (cfg.nodes.length === 0) {
            pulumi.log.info("nodes is empty: no node's container runtime is configured", this);
        }
        if (cfg.nodes.length > 0 && cfg.ssh.bastion !== undefined && cfg.ssh.bastion.hostKey === undefined) {
            pulumi.log.warn(
                `SSH host key of the bastion ${cfg.ssh.bastion.host} is NOT checked: whoever answers there sees ` +
                    "every node connection's credentials. Add its key to dragonfly-cce:ssh.knownHosts.",
                this,
            );
        }
        let previous: pulumi.Resource[] = [];
        for (const batch of batches(plan, cfg.rollout.maxParallel)) {
            const current = batch.map(
                (p) =>
                    new NodeRuntime(
                        `${name}-${p.node.name}`,
                        {
                            plan: p,
                            ssh: cfg.ssh,
                            proxyCredentials: p.spec.proxyAuth ? args.proxyCredentials : undefined,
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
