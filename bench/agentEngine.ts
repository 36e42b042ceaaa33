/**
 * Node agent figures on the local world's kubelet node (tests/helpers/agentEngine.ts, as
 * tests/real/agentEngine.test.ts runs it): the real Pulumi CLI and providers deploy the stack with
 * `nodeAgent.enabled` and no SSH node; the agent's DaemonSet configures the kubelet node's own
 * containerd. Printed: the agent pod's start to Ready (the kubelet's timestamps) and the runtime's
 * restarts per node (`systemctl restart containerd` on the node) for the first `up`, a no-op `up`
 * and one more registry; the time of each `up` and of `destroy`.
 *
 * Needs root and the built tools; prints SKIPPED otherwise.
 * Run: npx ts-node --transpile-only bench/agentEngine.ts
 */
import { mkdtempSync, rmSync } from "fs";
import { join } from "path";

import { AgentNode } from "../tests/agent/agentWorld";
import { agentPods, agentStackConfig, startToReady } from "../tests/helpers/agentEngine";
import { ENGINE_TOOLS, EngineProject, ok } from "../tests/helpers/engine";
import { missing } from "../tests/helpers/privileged";
import { LocalWorld } from "../tests/helpers/world/local";

const REGISTRY = "198.18.0.3:5000";
const EXTRA_REGISTRY = "swr.cn-north-4.myhuaweicloud.com";

async function main(): Promise<void> {
    const why = missing({ root: true, tools: [...ENGINE_TOOLS, "kubelet", "kube-proxy", "kube-scheduler", "helm"] });
    if (why.length > 0) {
        console.log(`agent engine figures: SKIPPED (${why.join("; ")})`);
        return;
    }
    const dir = mkdtempSync("/var/tmp/dfcce-bench-agent-engine-");
    // The world's one SSH node (its minimum) stays out of the stack.
    const world = new LocalWorld({ dir: join(dir, "world"), nodes: 1 });
    let left: string[];
    try {
        const info = await world.start();
        const node = new AgentNode(world.kubelet, join(dir, "agent-node"));
        await node.prepare();
        const project = new EngineProject({ world: info, dir, stack: "bench", config: agentStackConfig([REGISTRY]) });
        ok(await project.pulumi(["stack", "init", "bench", "--secrets-provider", "passphrase"]), "stack init");
        const restarts = () => node.systemctlCalls().filter((c) => c === "systemctl restart containerd").length;
        const readyOf = async (): Promise<string> => {
            const pods = await agentPods(world.controlPlane);
            return pods.map((p) => `${startToReady(p)} s`).join(", ");
        };
        const step = async (what: string): Promise<void> => {
            const before = restarts();
            const r = ok(await project.pulumi(["up", "--yes", "--stack", "bench"]), what);
            console.log(
                `agent (kubelet world): ${what}: up ${r.seconds.toFixed(1)} s, pod start to Ready ${await readyOf()}, ` +
                    `restarts per node ${restarts() - before}`,
            );
        };
        await step("first up");
        await step("no-op up");
        project.writeConfig(agentStackConfig([REGISTRY, EXTRA_REGISTRY]));
        await step("one more registry");
        const d = ok(await project.pulumi(["destroy", "--yes", "--stack", "bench"]), "destroy");
        console.log(`agent (kubelet world): destroy (the node restored) ${d.seconds.toFixed(1)} s`);
    } finally {
        left = await world.destroy();
        rmSync(dir, { recursive: true, force: true });
    }
    if (left.length > 0) {
        throw new Error(`the world left: ${left.join(", ")}`);
    }
}

main().catch((e: Error) => {
    console.error(`agent engine figures: ${e.message}`);
    process.exit(1);
});
