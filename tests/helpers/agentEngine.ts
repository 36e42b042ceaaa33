/**
 * The node agent on the local world's kubelet node, under the real engine (tests/helpers/engine.ts):
 * the stack's config (the world's, with the agent on) and the agent's pods and figures as the API
 * server and the kubelet report them. Used by tests/real/agentEngine.test.ts and bench/agentEngine.ts.
 */
import { localConfig } from "./engine";
import { ControlPlane } from "./world/controlPlane";
import { KubeletNode } from "./world/kubeletNode";

/** The namespace of the world's stack (Pulumi.local.yaml). */
export const AGENT_STACK_NAMESPACE = "dragonfly-system";

/** An agent pod, the fields read here. */
export interface AgentPod {
    metadata: { name: string; uid: string; annotations?: Record<string, string>; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: {
        phase: string;
        startTime?: string;
        conditions?: Array<{ type: string; status: string; lastTransitionTime: string }>;
        containerStatuses?: Array<{ ready: boolean; restartCount: number }>;
    };
}

/**
 * The stack's config: the world's (Pulumi.local.yaml), with the agent on, no SSH node and no pull
 * check (both refused with the agent), no console rotation (it needs a node of `nodes`): what
 * README's local-world section has the user set.
 */
export function agentStackConfig(registries: string[]): Record<string, unknown> {
    const base = localConfig({}, 0);
    delete base["dragonfly-cce:nodes"];
    delete base["dragonfly-cce:verify"];
    return {
        ...base,
        "dragonfly-cce:registries": registries,
        "dragonfly-cce:console": { nodePort: 30080, nodeAddress: "198.18.0.20", rotatePassword: false },
        "dragonfly-cce:nodeAgent": { enabled: true },
    };
}

/** The agent's pods that are not being deleted. */
export async function agentPods(cp: ControlPlane): Promise<AgentPod[]> {
    const r = await cp.get(
        `/api/v1/namespaces/${AGENT_STACK_NAMESPACE}/pods?labelSelector=app.kubernetes.io/component%3Dnode-agent`,
    );
    const items = (r.code === 0 ? (JSON.parse(r.stdout) as { items?: AgentPod[] }).items : undefined) ?? [];
    return items.filter((p) => p.metadata.deletionTimestamp === undefined);
}

/** Seconds from the pod's start to its Ready condition (the kubelet's timestamps, whole seconds). */
export function startToReady(p: AgentPod): number {
    const ready = p.status.conditions?.find((c) => c.type === "Ready" && c.status === "True");
    if (p.status.startTime === undefined || ready === undefined) {
        throw new Error(`pod ${p.metadata.name} is not Ready: ${JSON.stringify(p.status)}`);
    }
    return (Date.parse(ready.lastTransitionTime) - Date.parse(p.status.startTime)) / 1000;
}

/** The agent's log as the kubelet wrote it on the node. */
export async function agentPodLog(node: KubeletNode, p: AgentPod): Promise<string> {
    const dir = `/var/log/pods/${AGENT_STACK_NAMESPACE}_${p.metadata.name}_${p.metadata.uid}/agent`;
    return (await node.exec(["sh", "-c", `cat ${dir}/*.log`], { allowFailure: true })).stdout;
}
