/**
 * NodeAgent: the in-cluster node agent (docs/agent.md). A DaemonSet whose pods run, on their
 * node, the scripts the SSH path runs, from an immutable Secret whose name carries its content
 * hash (a new configuration is a new Secret and a new pod template: the DaemonSet rolls
 * `rollout.maxParallel` nodes at a time). The manifests are lib/agent's; this shell creates them
 * in order and reads back which nodes reported configured.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import {
    AGENT_STATUS_CONFIGMAP,
    CONFIG_HASH_ANNOTATION,
    agentConfigHash,
    agentPlan,
    agentScripts,
    agentSecretData,
    agentSecretManifest,
    AgentStack,
    agentSecretName,
    configuredAgentNodes,
    daemonSetManifest,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../lib/agent";

/** How long `destroy` waits for the DaemonSet to go: every pod's restore within its grace period, and then some. */
export const DEFAULT_DELETE_TIMEOUT = "10m";
/**
 * How long `up` waits for the DaemonSet's rollout (`rollout.maxParallel` nodes at a time, each
 * applying and maybe restarting containerd): longer than the provider's 10 minutes, for large pools.
 */
export const DEFAULT_ROLLOUT_TIMEOUT = "30m";

export interface NodeAgentArgs {
    /** The validated config: the release's namespace and pool, the node keys, `nodeAgent`. */
    stack: AgentStack;
    /** The namespace's name (the Namespace resource's output: the agent's objects come after it). */
    namespace: pulumi.Input<string>;
    /** The Dragonfly client proxy URL `http://HOST:PORT` (the proxy LoadBalancer's), as NodeFleet gets it. */
    endpoint: pulumi.Input<string>;
    /** Secret `user:password` of the proxy when it requires basic auth (`proxy.basicAuth`) in proxy mode. */
    proxyCredentials?: pulumi.Input<string>;
    /** What must exist before any node is touched: the release and the proxy LoadBalancer. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class NodeAgent extends pulumi.ComponentResource {
    /** Names of the nodes whose agent reported them configured (the status ConfigMap, read after the rollout). */
    public readonly agentNodes: pulumi.Output<string[]>;
    /** The content hash of the agent's Secret (the pod template's `dragonfly-cce/config-hash`). */
    public readonly configHash: pulumi.Output<string>;
    public readonly daemonSet: k8s.apps.v1.DaemonSet;

    constructor(name: string, args: NodeAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeAgent", name, {}, opts);
        const stack = args.stack;
        const plan = agentPlan(stack, args.endpoint);
        if (plan.spec.proxyAuth === true && args.proxyCredentials === undefined) {
            throw new pulumi.ResourceError(
                "the proxy requires basic auth (proxy.basicAuth) and the agent was given no credentials",
                this,
            );
        }
        // Mirror mode with mirrorEndpoint local needs no proxy URL: its scripts are known in a preview.
        const scripts = pulumi.output(plan.endpoint).apply((endpoint) => agentScripts(stack, endpoint));
        this.configHash = scripts.apply(agentConfigHash);
        const stringData = pulumi.secret(
            pulumi
                .all([scripts, pulumi.output(args.proxyCredentials)])
                .apply(([s, credentials]) => agentSecretData(s, credentials)),
        );
        const inNamespace = <M extends { metadata: object }>(m: M) => ({
            ...m,
            metadata: { ...m.metadata, namespace: args.namespace },
        });

        const secretShape = agentSecretManifest(stack, "", {});
        const secret = new k8s.core.v1.Secret(
            `${name}-config`,
            {
                metadata: {
                    ...secretShape.metadata,
                    name: this.configHash.apply(agentSecretName),
                    namespace: args.namespace,
                },
                type: secretShape.type,
                immutable: secretShape.immutable,
                stringData,
            },
            { parent: this },
        );
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-service-account`,
            inNamespace(serviceAccountManifest(stack)),
            { parent: this },
        );
        const role = new k8s.rbac.v1.Role(`${name}-role`, inNamespace(roleManifest(stack)), { parent: this });
        const binding = new k8s.rbac.v1.RoleBinding(`${name}-role-binding`, inNamespace(roleBindingManifest(stack)), {
            parent: this,
        });
        // Created empty; each agent writes its node's line into data, which the stack leaves alone.
        const status = new k8s.core.v1.ConfigMap(`${name}-status`, inNamespace(statusConfigMapManifest(stack)), {
            parent: this,
            ignoreChanges: ["data"],
        });

        // The manifest with the two places that name the hash filled from the Secret, so that a
        // preview shows every other field even while the hash is unknown.
        const shape = daemonSetManifest(stack, "");
        const template = shape.spec.template;
        this.daemonSet = new k8s.apps.v1.DaemonSet(
            `${name}-daemonset`,
            {
                metadata: { ...shape.metadata, namespace: args.namespace },
                spec: {
                    ...shape.spec,
                    template: {
                        metadata: { ...template.metadata, annotations: { [CONFIG_HASH_ANNOTATION]: this.configHash } },
                        spec: {
                            ...template.spec,
                            volumes: template.spec.volumes.map((v) => ({
                                ...v,
                                secret: { ...v.secret, secretName: secret.metadata.name },
                            })),
                        },
                    },
                },
            },
            {
                parent: this,
                // destroy deletes the DaemonSet (and waits for its pods' restores) before these.
                dependsOn: [secret, serviceAccount, role, binding, status, ...(args.dependsOn ?? [])],
                customTimeouts: {
                    create: DEFAULT_ROLLOUT_TIMEOUT,
                    update: DEFAULT_ROLLOUT_TIMEOUT,
                    delete: DEFAULT_DELETE_TIMEOUT,
                },
            },
        );

        // Read after the DaemonSet is ready (the provider awaits its rollout). The id waits for the
        // DaemonSet's id, which the preview of a new DaemonSet does not know: the engine then skips
        // the read instead of reading a ConfigMap that does not exist yet.
        const read = k8s.core.v1.ConfigMap.get(
            `${name}-status-read`,
            pulumi
                .all([this.daemonSet.id, this.daemonSet.metadata.namespace])
                .apply(([, namespace]) => `${namespace}/${AGENT_STATUS_CONFIGMAP}`),
            { parent: this, dependsOn: [this.daemonSet] },
        );
        this.agentNodes = read.data.apply((data) => configuredAgentNodes(data));
        this.registerOutputs({ agentNodes: this.agentNodes, configHash: this.configHash });
    }
}
