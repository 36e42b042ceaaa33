import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { agentNamespaceMetadata, NodeAgentConfig } from "../lib/agent";
import { CoreConfig } from "../lib/cluster/config";
import { trustedCaBundle } from "../lib/config/proxyCa";
import { activeNodes, NodeConfig, parseNodeConfig } from "../lib/node/config";
import { urlHost } from "../lib/remote/hosts";
import { Verification } from "../lib/verify/result";
import { defaultMetricsUrls, VerifyConfig } from "../lib/verify/config";
import { ConsolePassword } from "./consolePassword";
import { ConsoleService } from "./consoleService";
import { DragonflyRelease } from "./dragonflyRelease";
import { NodeAgent } from "./nodeAgent";
import { NodeFleet } from "./nodeFleet";
import { nodeConnection } from "../lib/remote/connection";
import { ProxyService } from "./proxyService";
import { PullVerification } from "./pullVerification";

export interface DragonflyCceArgs {
    /** The parsed core configuration (see lib/cluster/config.ts and the README's config table). */
    core: CoreConfig;
    /** Nodes whose runtimes pull through Dragonfly (see lib/node/config.ts); default `parseNodeConfig({})`: none. */
    nodes?: NodeConfig<pulumi.Input<string>>;
    /** The pull check on one node; off when omitted. */
    verify?: VerifyConfig;
    /** The in-cluster node agent (see lib/agent/config.ts, docs/agent.md); off when omitted or not enabled. */
    nodeAgent?: NodeAgentConfig;
}

/**
 * The whole stack: Dragonfly on a CCE node pool, its two Services, the nodes' runtimes (over SSH,
 * or the in-cluster node agent), the console password and the pull check, in dependency order:
 * namespace -> secrets -> release -> services -> nodes (in maxParallel lanes) or the agent's
 * DaemonSet -> console password, verification.
 */
export class DragonflyCce extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly releaseName: pulumi.Output<string>;
    public readonly chartVersion: pulumi.Output<string>;
    public readonly releaseStatus: pulumi.Output<string>;
    public readonly proxyAddress: pulumi.Output<string>;
    public readonly proxyUrl: pulumi.Output<string>;
    public readonly consoleNodePort: pulumi.Output<number>;
    public readonly consoleUrl: pulumi.Output<string | undefined>;
    /** The NO_PROXY list the nodes get (comma-separated). */
    public readonly noProxy: pulumi.Output<string>;
    /**
     * The CA certificates (PEM bundle: `proxy.ca.certificate`, then `alsoTrust`) for
     * other stacks' nodes to trust; undefined without `proxy.ca`.
     */
    public readonly proxyCaCertificate: pulumi.Output<string | undefined>;
    /** Names of the configured nodes. */
    public readonly configuredNodes: pulumi.Output<string[]>;
    /**
     * `{username, password}` of the console (secret): `console.password` when given, else the
     * generated password once a rotation gave it to the console (also after the rotation is
     * turned off or its node is gone); undefined while the console has the chart's.
     */
    public readonly consoleCredentials: pulumi.Output<{ username: string; password: string } | undefined>;
    /**
     * Names of the nodes the node agent reported configured (read from its status ConfigMap once
     * its DaemonSet is ready); undefined when the agent is off.
     */
    public readonly agentNodes: pulumi.Output<string[] | undefined>;
    /** The node agent, when enabled. */
    public readonly agent?: NodeAgent;
    /** The pull check's result; undefined when `verify` is off. */
    public readonly verification: pulumi.Output<Verification | undefined>;
    /** The node fleet (one NodeRuntime per node). */
    public readonly fleet: NodeFleet;
    /** The node configuration in effect (the parser's defaults when `nodes` was omitted). */
    public readonly nodeConfig: NodeConfig<pulumi.Input<string>>;

    constructor(name: string, args: DragonflyCceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:DragonflyCce", name, {}, opts);
        const cfg = args.core;
        const nodes = args.nodes ?? parseNodeConfig({});
        this.nodeConfig = nodes;

        // An explicit provider only when the stack names a kubeconfig or context; otherwise the
        // ambient kubeconfig (KUBECONFIG / ~/.kube/config), as kubectl and helm would use.
        let childOpts: pulumi.ComponentResourceOptions = { parent: this };
        if (cfg.kubeconfig !== undefined || cfg.kubeContext !== undefined) {
            const provider = new k8s.Provider(
                `${name}-k8s`,
                {
                    kubeconfig: cfg.kubeconfig === undefined ? undefined : pulumi.secret(cfg.kubeconfig),
                    context: cfg.kubeContext,
                },
                { parent: this },
            );
            childOpts = { parent: this, providers: { kubernetes: provider } };
        }

        const agentConfig = args.nodeAgent?.enabled === true ? args.nodeAgent : undefined;
        const release = new DragonflyRelease(
            `${name}`,
            { config: cfg, namespaceMetadata: agentConfig === undefined ? undefined : agentNamespaceMetadata() },
            childOpts,
        );
        const serviceArgs = { config: cfg, namespace: release.namespace, release: release.release };
        const proxy = new ProxyService(`${name}-proxy`, serviceArgs, childOpts);
        // Nodes marked gone run nothing: the console password and the pull check use the others.
        const firstNode = activeNodes(nodes.nodes)[0];
        const consoleSvc = new ConsoleService(
            `${name}-console`,
            { ...serviceArgs, fallbackNodeAddress: firstNode?.host },
            childOpts,
        );

        this.fleet = new NodeFleet(
            `${name}-nodes`,
            {
                config: nodes,
                endpoint: proxy.url,
                proxyPort: cfg.proxy.port,
                proxyCa: cfg.proxy.ca,
                proxyCredentials: release.proxyCredentials,
                dependsOn: [release.release, proxy.service],
                nodeAgent: agentConfig !== undefined,
            },
            { parent: this },
        );

        // The agent gets the proxy URL exactly as the fleet does.
        if (agentConfig !== undefined) {
            this.agent = new NodeAgent(
                `${name}-agent`,
                {
                    stack: { core: cfg, nodes, nodeAgent: agentConfig },
                    namespace: release.namespace,
                    endpoint: proxy.url,
                    proxyCredentials: release.proxyCredentials,
                    dependsOn: [release.release, proxy.service],
                },
                childOpts,
            );
        }

        // The console password is changed from a node: nodes reach the NodePort, CI runners
        // often cannot. The release revision re-checks it after every upgrade (a no-op when
        // already rotated), so a reinstall over an empty database converges again. The password
        // component stays when the rotation is off or no node is listed: the password it gave
        // the console stays in state and in consoleCredentials.
        const rotate = cfg.console.rotatePassword && firstNode !== undefined;
        const consolePassword = new ConsolePassword(
            `${name}-console-password`,
            {
                rotation: rotate
                    ? {
                          connection: nodeConnection(firstNode, nodes.ssh),
                          consoleUrl: pulumi.interpolate`http://${urlHost(firstNode.host)}:${consoleSvc.nodePort}`,
                          triggers: [release.release.status.revision],
                      }
                    : undefined,
                password: cfg.console.password === undefined ? undefined : pulumi.secret(cfg.console.password),
            },
            { parent: this, dependsOn: [release.release, consoleSvc.service] },
        );
        if (cfg.console.rotatePassword && !rotate) {
            pulumi.log.warn(
                "console.rotatePassword is on but no node is configured to run it from: nothing rotates the " +
                    "console password now. A password the stack gave it before stays in consoleCredentials; " +
                    "otherwise the console keeps the chart's default password (root / dragonfly). " +
                    (agentConfig === undefined
                        ? "List a node in dragonfly-cce:nodes."
                        : "The node agent does not rotate it (the rotation runs over SSH, and nodes lists no node " +
                          "while the agent is on): change it in the console and set dragonfly-cce:console.password " +
                          "(secret), or set console.rotatePassword false."),
                this,
            );
        }
        const credentials = consolePassword.credentials;

        let verification: pulumi.Output<Verification | undefined> = pulumi.output(undefined);
        if (args.verify !== undefined) {
            const v = args.verify;
            const chosen = this.fleet.nodes.get(v.node);
            if (chosen === undefined) {
                throw new pulumi.ResourceError(`verify.node ${JSON.stringify(v.node)} is not in nodes`, this);
            }
            const { plan, runtime } = chosen;
            const node = plan.node;
            const check = new PullVerification(
                `${name}-verify`,
                {
                    connection: nodeConnection(node, nodes.ssh),
                    sudo: plan.sudo,
                    runtime: node.runtime,
                    image: v.image,
                    node: node.name,
                    // Default: every configured node's client and this node's own (the
                    // LoadBalancer may hand the pull to any Dragonfly node's client).
                    metricsUrls:
                        v.metricsUrls.length > 0
                            ? v.metricsUrls
                            : defaultMetricsUrls(activeNodes(nodes.nodes).map((n) => n.host)),
                    // Re-run when this node's configuration changes, not on every up.
                    triggers: [runtime.scriptHash],
                },
                { parent: this, dependsOn: [runtime] },
            );
            verification = check.verification;
        }

        this.namespace = release.namespace;
        this.releaseName = release.releaseName;
        this.chartVersion = release.chartVersion;
        this.releaseStatus = release.status;
        this.proxyAddress = proxy.address;
        this.proxyUrl = proxy.url;
        this.consoleNodePort = consoleSvc.nodePort;
        this.consoleUrl = consoleSvc.url;
        this.noProxy = this.fleet.noProxy;
        // What the nodes trust, for other stacks' nodes (the plan gives the same bundle to ours).
        this.proxyCaCertificate = pulumi.output(cfg.proxy.ca === undefined ? undefined : trustedCaBundle(cfg.proxy.ca));
        this.configuredNodes = this.fleet.configuredNodes;
        this.consoleCredentials = pulumi.secret(credentials);
        this.verification = verification;
        this.agentNodes = this.agent === undefined ? pulumi.output(undefined) : this.agent.agentNodes;
        this.registerOutputs({
            namespace: this.namespace,
            releaseName: this.releaseName,
            chartVersion: this.chartVersion,
            releaseStatus: this.releaseStatus,
            proxyAddress: this.proxyAddress,
            proxyUrl: this.proxyUrl,
            consoleNodePort: this.consoleNodePort,
            consoleUrl: this.consoleUrl,
            noProxy: this.noProxy,
            proxyCaCertificate: this.proxyCaCertificate,
            configuredNodes: this.configuredNodes,
            consoleCredentials: this.consoleCredentials,
            verification: this.verification,
            agentNodes: this.agentNodes,
        });
    }
}
