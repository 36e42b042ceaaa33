/**
 * Node agent figures (issue 20): the agent's entrypoint in a container on a sandbox node of its own
 * containerd (tests/agent/agentWorld.ts: own PID and mount namespaces, hostPID container, a real
 * kube-apiserver), for three rounds from a pristine node:
 * - first apply: seconds from the container's start to its ready file, and the runtime's restarts;
 * - no-op (a new pod with the same Secret): the same;
 * - config change (a new Secret: one more registry): the same;
 * - destroy: seconds from SIGTERM with the DaemonSet gone to the container's exit (node restored).
 * Restarts are counted as tests/node counts them: the summary line's `restarted=` and the
 * runtime's pid.
 *
 * Needs root and the built tools; prints SKIPPED otherwise.
 * Run: npx ts-node --transpile-only bench/agent.ts
 */
import { mkdtempSync, rmSync } from "fs";
import { join } from "path";

import { NodeScriptSpec } from "../lib/node";
import {
    Agent,
    AgentControlPlane,
    AgentNode,
    createAgentObjects,
    createDaemonSet,
    restartedOf,
    secretOfSpec,
    summaries,
} from "../tests/agent/agentWorld";
import { missing } from "../tests/helpers/privileged";
import { waitFor } from "../tests/helpers/world/exec";
import { buildStandinImages } from "../tests/helpers/world/images";
import { KubeletNode } from "../tests/helpers/world/kubeletNode";
import { createNetwork, destroyNamespaces, removeStaleNamespaces } from "../tests/helpers/world/netns";
import { LOCAL_REG, spec, SWR } from "../tests/node/nodeHelpers";

const ROUNDS = 3;
const NODE = "bench-agent-1";

interface Figure {
    seconds: number[];
    restarts: number[];
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
    const why = missing({ root: true, tools: ["kine", "kube-apiserver", "kube-controller-manager"] });
    if (why.length > 0) {
        console.log(`agent figures: SKIPPED (${why.join("; ")})`);
        return;
    }
    const dir = mkdtempSync("/var/tmp/dfcce-bench-agent-");
    const namespaces: string[] = [];
    let cp: AgentControlPlane | undefined;
    let kubelet: KubeletNode | undefined;
    const agents: Agent[] = [];
    try {
        removeStaleNamespaces();
        const t0 = Date.now();
        const archive = await buildStandinImages({ dir: join(dir, "images") });
        const net = await createNetwork(process.pid, { agent: [30] }, namespaces);
        cp = new AgentControlPlane({ netns: net.hub.netns, dir: join(dir, "cp"), loadBalancerAddress: "198.18.0.2" });
        await cp.start();
        kubelet = new KubeletNode({
            hubNetns: net.hub.netns,
            netns: net.hosts.agent.netns,
            address: "198.18.0.30",
            caFile: cp.caFile,
            token: cp.token,
            dir: join(dir, "node"),
            nodeName: NODE,
            pool: "bench-pool",
            apiGet: (p) => cp!.get(p),
        });
        await kubelet.startRuntime(archive);
        const node = new AgentNode(kubelet, join(dir, "agents"));
        await node.prepare();
        const token = await createAgentObjects(cp);
        console.log(`agent: world up (images, API server, sandbox node) ${((Date.now() - t0) / 1000).toFixed(1)} s`);

        const world = cp;
        /** One agent with `s`'s Secret until ready: seconds and restarts (summary and pid agree). */
        const run = async (s: NodeScriptSpec, f: Figure): Promise<Agent> => {
            const pid = await node.containerdPid();
            const a = await node.startAgent({
                secret: secretOfSpec(s),
                token,
                caFile: world.caFile,
                nodeName: NODE,
            });
            agents.push(a);
            f.seconds.push(await a.waitReady());
            const summary = summaries(await a.waitLog(/^dragonfly-cce: changed=/m))[0];
            const restarted = (await node.containerdPid()) !== pid ? 1 : 0;
            if ((restartedOf(summary) === "yes") !== (restarted === 1)) {
                throw new Error(`the summary (${summary}) and containerd's pid disagree`);
            }
            f.restarts.push(restarted);
            return a;
        };
        const first: Figure = { seconds: [], restarts: [] };
        const noop: Figure = { seconds: [], restarts: [] };
        const change: Figure = { seconds: [], restarts: [] };
        const destroy: number[] = [];
        const base = spec();
        const changed = spec({ registries: [SWR, LOCAL_REG, "docker.io"] });
        for (let round = 0; round < ROUNDS; round++) {
            for (const [s, f] of [
                [base, first],
                [base, noop],
                [changed, change],
            ] as const) {
                const a = await run(s, f);
                if (f !== change) {
                    await a.terminate();
                    await a.remove();
                    continue;
                }
                // destroy: the DaemonSet goes, SIGTERM restores the node.
                await world.must("DELETE", "/apis/apps/v1/namespaces/dragonfly-system/daemonsets/dragonfly-node-agent");
                const t = Date.now();
                await a.terminate();
                destroy.push((Date.now() - t) / 1000);
                if (!/restored/.test(a.log())) {
                    throw new Error(`the agent did not restore the node:\n${a.log()}`);
                }
                await a.remove();
                await waitFor("the DaemonSet gone", async () =>
                    (
                        await world.request(
                            "GET",
                            "/apis/apps/v1/namespaces/dragonfly-system/daemonsets/dragonfly-node-agent",
                        )
                    ).status === 404
                        ? true
                        : undefined,
                );
                await createDaemonSet(world);
            }
        }
        const s = (xs: number[]) => `${median(xs).toFixed(2)} s (median of ${xs.join(", ")})`;
        console.log(
            `agent: first apply, start to ready ${s(first.seconds)}, restarts per node ${first.restarts.join(", ")}`,
        );
        console.log(`agent: no-op, start to ready ${s(noop.seconds)}, restarts per node ${noop.restarts.join(", ")}`);
        console.log(
            `agent: config change, start to ready ${s(change.seconds)}, restarts per node ${change.restarts.join(", ")}`,
        );
        console.log(`agent: destroy, SIGTERM to node restored and exit ${s(destroy)}`);
    } finally {
        for (const a of agents) {
            await a.remove().catch(() => undefined);
        }
        const left = kubelet ? await kubelet.stop() : [];
        cp?.stop();
        destroyNamespaces(namespaces);
        rmSync(dir, { recursive: true, force: true });
        if (left.length > 0) {
            console.error(`agent bench left: ${left.join("; ")}`);
        }
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
