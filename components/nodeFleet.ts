/**
 * NodeFleet: one {@link NodeRuntime} per configured node, rolled out in `rollout.maxParallel`
 * lanes (a sliding window: each node waits for the node `maxParallel` places before it, not for
 * a whole batch), all after the resources given in `dependsOn` (the Dragonfly release and the
 * proxy LoadBalancer). At most `maxParallel` nodes are configured at a time, and a failure stops
 * further nodes: its lane's next node depends on it, and the engine starts no new step after a
 * failure. Nodes marked `gone` are outside the lanes: their commands stay in the state as they
 * are, retained (see NodeRuntime).
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_PROXY_PORT } from "../lib/dragonfly";
import { activeNodes, buildNoProxy, NodeConfig } from "../lib/node/config";
import { dockerNodesRoutingDockerHub, NodePlan, PlanInputs, planNodes } from "../lib/node/plan";
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
    /**
     * `proxy.ca`: containerd nodes in proxy mode trust its certificates for the routed registries
     * instead of skipping TLS verification. Default: none (verification skipped).
     */
    proxyCa?: PlanInputs<unknown>["proxyCa"];
    /** What must exist before any node is touched: the release and the proxy LoadBalancer. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * The node agent (`nodeAgent.enabled`) configures the nodes from inside the cluster: an empty
     * `nodes` is then the rule, not a gap, and the preview says so. Default false.
     */
    nodeAgent?: boolean;
}

/** The preview's note when `nodes` is empty, with or without the node agent. */
export function emptyNodesMessage(nodeAgent: boolean): string {
    return nodeAgent
        ? "nodes is empty: no node is configured over SSH; the node agent (dragonfly-cce:nodeAgent) configures " +
              "the nodes its DaemonSet selects (the agentNodes output lists them)"
        : "nodes is empty: no node's container runtime is configured";
}

/**
 * The sliding window: for each of `count` nodes, the index of the node it waits for (`i - lanes`),
 * or -1 for the first `lanes` nodes.
 */
export function windowPredecessors(count: number, lanes: number): number[] {
    return Array.from({ length: count }, (_, i) => (i >= lanes ? i - lanes : -1));
}

/** One node of the fleet: what it gets, and the component that applies it. */
export interface FleetNode {
    plan: NodePlan<pulumi.Input<string>>;
    runtime: NodeRuntime;
}

export class NodeFleet extends pulumi.ComponentResource {
    /** Names of the nodes configured (in config order; `gone` nodes are not). */
    public readonly configuredNodes: pulumi.Output<string[]>;
    /** The NO_PROXY list the nodes get. */
    public readonly noProxy: pulumi.Output<string>;
    /** Each node's plan (`planNodes`) and its NodeRuntime, by node name, in config order (`gone` nodes included). */
    public readonly nodes: ReadonlyMap<string, FleetNode>;

    constructor(name: string, args: NodeFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeFleet", name, {}, opts);
        const cfg = args.config;
        const noProxy = buildNoProxy(cfg.noProxy, cfg.clusterCidrs);
        const plan = planNodes(cfg, {
            proxyUrl: args.endpoint,
            proxyPort: args.proxyPort ?? DEFAULT_PROXY_PORT,
            proxyAuth: args.proxyCredentials !== undefined,
            proxyCa: args.proxyCa,
        });
        if (cfg.nodes.length === 0) {
            pulumi.log.info(emptyNodesMessage(args.nodeAgent === true), this);
        }
        if (cfg.nodes.length > 0 && cfg.ssh.bastion !== undefined && cfg.ssh.bastion.hostKey === undefined) {
            pulumi.log.warn(
                `SSH host key of the bastion ${cfg.ssh.bastion.host} is NOT checked: whoever answers there sees ` +
                    "every node connection's credentials. Add its key to dragonfly-cce:ssh.knownHosts.",
                this,
            );
        }
        const hubOnDocker = dockerNodesRoutingDockerHub(plan);
        if (hubOnDocker.length > 0) {
            pulumi.log.warn(
                `registries lists docker.io, and Docker node(s) ${hubOnDocker.join(", ")} cannot pull it through ` +
                    "the proxy: dockerd checks Docker Hub against the system's CAs only (insecure-registries and " +
                    "certs.d do not apply to it), and the proxy answers with a certificate of its own. Pull " +
                    "Docker Hub images on containerd nodes, or add the Dragonfly client's CA to these nodes' " +
                    "system trust store.",
                this,
            );
        }
        const active = plan.filter((p) => !p.node.gone);
        const before = windowPredecessors(active.length, cfg.rollout.maxParallel);
        const byName = new Map<string, NodeRuntime>();
        active.forEach((p, i) => {
            const previous = before[i] >= 0 ? [byName.get(active[before[i]].node.name)!] : [];
            byName.set(
                p.node.name,
                this.runtime(name, p, args, { dependsOn: [...(args.dependsOn ?? []), ...previous] }),
            );
        });
        for (const p of plan.filter((x) => x.node.gone)) {
            byName.set(p.node.name, this.runtime(name, p, args, {}));
        }
        this.nodes = new Map(plan.map((p) => [p.node.name, { plan: p, runtime: byName.get(p.node.name)! }]));
        this.configuredNodes = pulumi.output(activeNodes(cfg.nodes).map((n) => n.name));
        this.noProxy = pulumi.output(noProxy.join(","));
        this.registerOutputs({ configuredNodes: this.configuredNodes, noProxy: this.noProxy });
    }

    private runtime(
        name: string,
        p: NodePlan<pulumi.Input<string>>,
        args: NodeFleetArgs,
        opts: { dependsOn?: pulumi.Input<pulumi.Resource>[] },
    ): NodeRuntime {
        return new NodeRuntime(
            `${name}-${p.node.name}`,
            {
                plan: p,
                ssh: args.config.ssh,
                proxyCredentials: p.spec.proxyAuth ? args.proxyCredentials : undefined,
            },
            { parent: this, dependsOn: opts.dependsOn },
        );
    }
}
