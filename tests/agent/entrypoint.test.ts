/**
 * The agent's entrypoint (lib/agent/agent.sh) for real: in a busybox container of a sandbox node's
 * own containerd, with the node's PID namespace (hostPID), so that its `nsenter -t 1` lands in the
 * sandbox node and never on this machine; a real kube-apiserver answers its DaemonSet and
 * ConfigMap calls with the ServiceAccount's token, under the Role the program ships
 * (tests/agent/agentWorld.ts: lib/agent's manifests). The container runs the DaemonSet's image and
 * command, with the Secret `agentSecretData` makes for a stack config (`agentScripts`). The apply
 * restarts the very containerd that runs the agent.
 *
 * The cases run in order on one node, each from the state the one before left:
 * first start, second start, SIGTERM with the DaemonSet there, a config change, SIGTERM with the
 * API server unreachable, the status patched before the ready file, SIGTERM during an apply, the resync, SIGTERM while the DaemonSet is being
 * deleted (finalizer and deletionTimestamp), SIGTERM after it is gone (404), a runtime that fails
 * to come up.
 */
import { mkdtempSync, rmSync, statSync } from "fs";
import { join } from "path";

import { AGENT_FILES, AGENT_NODE_DIR } from "../../lib/agent/entrypoint";
import { agentScripts } from "../../lib/agent";
import { applyScript, NodeScriptSpec, restoreScript } from "../../lib/node";
import { describePrivileged } from "../helpers/privileged";
import { run, waitFor } from "../helpers/world/exec";
import { buildStandinImages } from "../helpers/world/images";
import { KubeletNode } from "../helpers/world/kubeletNode";
import { createNetwork, destroyNamespaces, removeStaleNamespaces } from "../helpers/world/netns";
import { CONFIG, DROPIN, ENDPOINT, LOCAL_REG, spec, SWR } from "../node/nodeHelpers";
import {
    Agent,
    AgentControlPlane,
    AgentNode,
    agentStack,
    AgentSecret,
    createAgentObjects,
    createDaemonSet,
    deleteDaemonSet,
    holdDaemonSet,
    releaseDaemonSet,
    restartedOf,
    secretOfStack,
    statusData,
    summaries,
} from "./agentWorld";

const NODE = "agent-node-1";
const NODE_ADDRESS = "198.18.0.30";
const PASSWORD = "s3cret-Agent-pw";
const CREDENTIALS = `puller:${PASSWORD}\n`;
const FIRST: NodeScriptSpec = spec({ proxyAuth: true });
const CHANGED: NodeScriptSpec = spec({ proxyAuth: true, registries: [SWR, LOCAL_REG, "docker.io"] });
/** The stack configs whose agent Secret holds FIRST's and CHANGED's scripts (checked below). */
const STACK_KEYS = { clusterCidrs: ["10.247.0.0/16"], proxy: { basicAuth: true } };
const STACKS = new Map<NodeScriptSpec, ReturnType<typeof agentStack>>([
    [FIRST, agentStack({ ...STACK_KEYS, registries: [SWR, LOCAL_REG] })],
    [CHANGED, agentStack({ ...STACK_KEYS, registries: [SWR, LOCAL_REG, "docker.io"] })],
]);

/** The Secret the stack ships for the spec's stack config (agentScripts, agentSecretData). */
function secretOf(s: NodeScriptSpec): AgentSecret {
    const stack = STACKS.get(s);
    if (stack === undefined) {
        throw new Error("no stack config for this spec");
    }
    return secretOfStack(stack, ENDPOINT, CREDENTIALS);
}

test("the stack configs' agent scripts are FIRST's and CHANGED's exactly", () => {
    for (const [s, stack] of STACKS) {
        const scripts = agentScripts(stack, ENDPOINT);
        expect(scripts.apply).toBe(applyScript(s));
        expect(scripts.restore).toBe(restoreScript(s));
        expect(scripts.proxyAuth).toBe(true);
    }
});

describePrivileged(
    "the node agent's entrypoint in a container on a sandbox node, against a real API server",
    {
        root: true,
        commands: ["ip", "containerd", "ctr", "unshare", "nsenter", "busybox", "curl", "openssl", "iptables", "pidof"],
        tools: ["kine", "kube-apiserver", "kube-controller-manager"],
    },
    () => {
        let dir = "";
        const namespaces: string[] = [];
        let cp: AgentControlPlane;
        let kubelet: KubeletNode;
        let node: AgentNode;
        let token = "";
        let pristine: Record<string, string> = {};
        const agents: Agent[] = [];
        const figures: Record<string, number | string> = {};

        function start(s: NodeScriptSpec, resyncSeconds?: number): Promise<Agent> {
            return node
                .startAgent({
                    secret: secretOf(s),
                    token,
                    caFile: cp.caFile,
                    nodeName: NODE,
                    resyncSeconds,
                })
                .then((a) => {
                    agents.push(a);
                    return a;
                });
        }

        /** This node's entry of the status ConfigMap, once it is `want` (the patch follows the ready file). */
        async function statusBecomes(want: string | RegExp | undefined): Promise<string | undefined> {
            const matches = (v: string | undefined) =>
                want === undefined
                    ? v === undefined
                    : typeof want === "string"
                      ? v === want
                      : v !== undefined && want.test(v);
            let last: string | undefined;
            await waitFor(
                `the status of ${NODE} to be ${String(want)}`,
                async () => {
                    last = (await statusData(cp))[NODE];
                    return matches(last) ? true : undefined;
                },
                20_000,
            ).catch(() => undefined);
            return last;
        }

        /** The last summary line the agent printed, once it printed one. */
        async function summaryOf(a: Agent): Promise<string> {
            await a.waitLog(/^dragonfly-cce: changed=/m);
            const lines = summaries(a.log());
            return lines[lines.length - 1];
        }

        beforeAll(async () => {
            dir = mkdtempSync("/var/tmp/dfcce-agent-");
            removeStaleNamespaces();
            const archive = await buildStandinImages({ dir: join(dir, "images") });
            const net = await createNetwork(process.pid, { agent: [30] }, namespaces);
            cp = new AgentControlPlane({
                netns: net.hub.netns,
                dir: join(dir, "control-plane"),
                loadBalancerAddress: NODE_ADDRESS,
            });
            await cp.start();
            kubelet = new KubeletNode({
                hubNetns: net.hub.netns,
                netns: net.hosts.agent.netns,
                address: NODE_ADDRESS,
                caFile: cp.caFile,
                token: cp.token,
                dir: join(dir, "node"),
                nodeName: NODE,
                pool: "agent-pool",
                apiGet: (p) => cp.get(p),
            });
            await kubelet.startRuntime(archive);
            node = new AgentNode(kubelet, join(dir, "agents"));
            await node.prepare();
            token = await createAgentObjects(cp);
            pristine = node.state();
        }, 600_000);

        afterAll(async () => {
            for (const a of agents) {
                await a.remove().catch(() => undefined);
            }
            const left = kubelet ? await kubelet.stop() : [];
            cp?.stop();
            destroyNamespaces(namespaces);
            if (dir !== "") {
                rmSync(dir, { recursive: true, force: true });
            }
            process.stderr.write(`agent figures: ${JSON.stringify(figures)}\n`);
            expect(left).toEqual([]);
        }, 180_000);

        test("first start: the node is configured, the agent Ready, its status patched, the summary in its log", async () => {
            const pid = await node.containerdPid();
            expect(pristine[`${CONFIG}`]).toBeDefined();
            const a = await start(FIRST);
            figures.firstReadySeconds = await a.waitReady();
            // Read at once: the status is patched before the pod can turn Ready (the stack reads
            // it as soon as the DaemonSet is Ready: agentNodes).
            const atReady = (await statusData(cp))[NODE];
            const summary = await summaryOf(a);
            expect(atReady).toBe(summary);
            expect(restartedOf(summary)).toBe("yes");
            expect(await node.containerdPid()).not.toBe(pid);
            figures.firstRestarts = 1;
            expect(await node.criStatus()).toBe("ok");

            // The node's own files changed (not this machine's): the drop-in and config.toml.
            const state = node.state();
            expect(state[DROPIN]).toBeDefined();
            expect(state[CONFIG]).not.toBe(pristine[CONFIG]);
            expect(node.read(CONFIG)).toContain(`[plugins."io.containerd.grpc.v1.cri".registry.configs."${SWR}".tls]`);
            // The credentials reached the apply on stdin: containerd runs with them, from a 0600 file.
            const envFile = "/etc/systemd/system/containerd.service.d/http-proxy.env";
            expect(summary).toBe(`dragonfly-cce: changed=${CONFIG},${envFile},${DROPIN}, restarted=yes`);
            const env = node.read(`/proc/${await node.containerdPid()}/environ`).split("\0");
            expect(env).toContain(`HTTPS_PROXY=http://puller:${PASSWORD}@192.168.0.177:4001`);
            expect(state[envFile].split(" ")[0]).toBe("600");

            // The scripts on the node: the Secret's, 0700 in a 0700 directory.
            expect(state[`${AGENT_NODE_DIR}/`]).toBe("dir 700");
            expect(statSync(node.p("/var/lib/dragonfly-cce")).mode & 0o777).toBe(0o700);
            expect(state[`${AGENT_NODE_DIR}/${AGENT_FILES.apply}`]).toBe(
                `700 ${Buffer.from(applyScript(FIRST)).toString("base64")}`,
            );
            expect(state[`${AGENT_NODE_DIR}/${AGENT_FILES.restore}`]).toBe(
                `700 ${Buffer.from(restoreScript(FIRST)).toString("base64")}`,
            );

            expect(await statusBecomes(summary)).toBe(summary);
            expect(a.log()).not.toContain(PASSWORD);
            expect(JSON.stringify(await statusData(cp))).not.toContain(PASSWORD);
            expect(a.log()).not.toMatch(/warning|failed/);
        }, 300_000);

        test("SIGTERM while the DaemonSet exists: nothing is undone, the node's files are unchanged", async () => {
            const a = agents[agents.length - 1];
            const before = node.state();
            const pid = await node.containerdPid();
            await a.terminate();
            expect(a.log()).toMatch(
                /SIGTERM: DaemonSet dragonfly-system\/dragonfly-node-agent exists .*: node agent-node-1 keeps its configuration/,
            );
            expect(node.state()).toEqual(before);
            expect(await node.containerdPid()).toBe(pid);
            expect(await statusBecomes(/^dragonfly-cce: changed=/)).toMatch(/^dragonfly-cce: changed=/);
            await a.remove();
        }, 300_000);

        test("second start: 0 changes, 0 restarts", async () => {
            const before = node.state();
            const pid = await node.containerdPid();
            const a = await start(FIRST);
            figures.noopReadySeconds = await a.waitReady();
            const summary = await summaryOf(a);
            expect(summary).toBe("dragonfly-cce: changed=-, restarted=no");
            expect(await node.containerdPid()).toBe(pid);
            figures.noopRestarts = 0;
            expect(node.state()).toEqual(before);
            expect(await statusBecomes(summary)).toBe(summary);
            await a.terminate();
            await a.remove();
        }, 300_000);

        test("a config change: the new scripts are applied with one restart", async () => {
            const pid = await node.containerdPid();
            const a = await start(CHANGED);
            figures.changeReadySeconds = await a.waitReady();
            const summary = await summaryOf(a);
            expect(summary).toMatch(/^dragonfly-cce: changed=\/etc\/containerd\/config\.toml, restarted=yes$/);
            expect(await node.containerdPid()).not.toBe(pid);
            figures.changeRestarts = 1;
            expect(node.read(CONFIG)).toContain(
                `[plugins."io.containerd.grpc.v1.cri".registry.configs."registry-1.docker.io".tls]`,
            );
            expect(node.read(`${AGENT_NODE_DIR}/${AGENT_FILES.apply}`)).toBe(applyScript(CHANGED));
            expect(await statusBecomes(summary)).toBe(summary);
            expect(await node.criStatus()).toBe("ok");
        }, 300_000);

        test("SIGTERM with the API server unreachable: nothing is undone, and the log says so", async () => {
            const a = agents[agents.length - 1];
            const before = node.state();
            const pid = await node.containerdPid();
            const rule = [
                "OUTPUT",
                "-p",
                "tcp",
                "-d",
                "127.0.0.1",
                "--dport",
                "6443",
                "-j",
                "REJECT",
                "--reject-with",
                "tcp-reset",
            ];
            await run("iptables", ["-I", ...rule], { netns: kubelet.opts.netns });
            try {
                await a.terminate();
            } finally {
                await run("iptables", ["-D", ...rule], { netns: kubelet.opts.netns });
            }
            expect(a.log()).toMatch(
                /SIGTERM: could not ask the API server whether DaemonSet dragonfly-system\/dragonfly-node-agent is being deleted \(HTTP 000: .*\): nothing is undone on node agent-node-1; if the stack was being destroyed, run \/var\/lib\/dragonfly-cce\/agent\/restore.sh on the node/,
            );
            expect(node.state()).toEqual(before);
            expect(await node.containerdPid()).toBe(pid);
            await a.remove();
        }, 300_000);

        test("the status comes before the ready file: with the API server silent, the configured node's pod is not Ready until the patch gave up", async () => {
            // DROP: curl waits its connect timeout (10 s) for the status patch.
            const rule = ["OUTPUT", "-p", "tcp", "-d", "127.0.0.1", "--dport", "6443", "-j", "DROP"];
            await run("iptables", ["-I", ...rule], { netns: kubelet.opts.netns });
            let a: Agent;
            try {
                a = await start(CHANGED);
                // The apply is done (its summary printed; nothing to change) and the patch pending.
                expect(restartedOf(await summaryOf(a))).toBe("no");
                expect(await a.ready()).toBe(false);
                await a.waitLog(/warning: could not update ConfigMap/, 60_000);
            } finally {
                await run("iptables", ["-D", ...rule], { netns: kubelet.opts.netns });
            }
            // The patch could not be made: the node is configured all the same, and the pod Ready.
            await a.waitReady(30_000);
            await a.terminate();
            expect(a.log()).toMatch(/SIGTERM: DaemonSet \S+ exists .*keeps its configuration/);
            await a.remove();
        }, 300_000);

        test("SIGTERM during an apply: the apply finishes (the node configured, containerd healthy), then nothing is undone", async () => {
            node.setSlowRestart(3);
            try {
                const calls = node.systemctlCalls().length;
                const pid = await node.containerdPid();
                const a = await start(FIRST);
                await waitFor(
                    "the agent's apply to restart containerd",
                    async () =>
                        node.systemctlCalls().slice(calls).includes("systemctl restart containerd") ? true : undefined,
                    60_000,
                );
                await a.terminate();
                // The handler ran once the apply had finished: containerd restarted with the new
                // files and healthy, and the handler found the DaemonSet there.
                expect(a.log()).toMatch(
                    /SIGTERM: DaemonSet dragonfly-system\/dragonfly-node-agent exists .*: node agent-node-1 keeps its configuration/,
                );
                expect(a.log()).toMatch(
                    /^dragonfly-cce: changed=\/etc\/containerd\/config\.toml, restarted=yes\n(.*\n)*dragonfly-cce-agent: SIGTERM: /m,
                );
                expect(node.read(CONFIG)).not.toContain('"registry-1.docker.io"');
                expect(node.read(`${AGENT_NODE_DIR}/${AGENT_FILES.apply}`)).toBe(applyScript(FIRST));
                expect(await node.containerdPid()).not.toBe(pid);
                expect(await node.criStatus()).toBe("ok");
                expect(node.snapshot("/var/lib/dragonfly-cce")).not.toHaveProperty(
                    "/var/lib/dragonfly-cce/restart-pending",
                );
                await a.remove();
            } finally {
                node.setSlowRestart(undefined);
            }
        }, 300_000);

        test("resync: every RESYNC_SECONDS the apply runs again and repairs drift", async () => {
            const a = await start(FIRST, 2);
            await a.waitReady();
            expect(await summaryOf(a)).toBe("dragonfly-cce: changed=-, restarted=no");
            const configured = node.state();
            // Someone removes the drop-in: the next resync writes it again and restarts containerd.
            rmSync(node.p(DROPIN));
            await a.waitLog(
                /^dragonfly-cce: changed=\/etc\/systemd\/system\/containerd\.service\.d\/http-proxy\.conf, restarted=yes$/m,
                30_000,
            );
            expect(node.state()).toEqual(configured);
            expect(summaries(a.log())[0]).toBe("dragonfly-cce: changed=-, restarted=no");
            // The resyncs after it change nothing.
            await a.waitLog(/restarted=yes\n(dragonfly-cce: changed=-, restarted=no\n){2}/, 30_000);
            await a.terminate();
            await a.remove();
        }, 300_000);

        test("SIGTERM while the DaemonSet is being deleted (deletionTimestamp): restored byte for byte, status entry removed", async () => {
            const a = await start(FIRST);
            await a.waitReady();
            expect(await summaryOf(a)).toBe("dragonfly-cce: changed=-, restarted=no");
            // Deleted in the foreground while a finalizer holds it: it has a deletionTimestamp.
            await holdDaemonSet(cp, "dragonfly-cce.test/hold");
            await deleteDaemonSet(cp);
            const ds = await cp.must(
                "GET",
                "/apis/apps/v1/namespaces/dragonfly-system/daemonsets/dragonfly-node-agent",
            );
            expect(ds.metadata.deletionTimestamp).toEqual(expect.any(String));
            const pid = await node.containerdPid();
            await a.terminate();
            expect(a.log()).toMatch(
                /SIGTERM: DaemonSet dragonfly-system\/dragonfly-node-agent is being deleted: restoring node agent-node-1/,
            );
            expect(a.log()).toMatch(/^dragonfly-cce: changed=.*, restarted=yes$/m);
            expect(a.log()).toMatch(/node agent-node-1 restored/);
            expect(node.state()).toEqual(pristine);
            expect(await node.containerdPid()).not.toBe(pid);
            expect(await node.criStatus()).toBe("ok");
            expect(await statusBecomes(undefined)).toBeUndefined();
            await a.remove();
            await releaseDaemonSet(cp);
        }, 300_000);

        test("SIGTERM after the DaemonSet is gone (404): restored byte for byte, status entry removed", async () => {
            await createDaemonSet(cp);
            const a = await start(FIRST);
            await a.waitReady();
            expect(restartedOf(await summaryOf(a))).toBe("yes");
            expect(await statusBecomes(/^dragonfly-cce: changed=/)).toMatch(/^dragonfly-cce: changed=/);
            await cp.must("DELETE", "/apis/apps/v1/namespaces/dragonfly-system/daemonsets/dragonfly-node-agent");
            await a.terminate();
            expect(a.log()).toMatch(
                /SIGTERM: DaemonSet dragonfly-system\/dragonfly-node-agent is gone: restoring node agent-node-1/,
            );
            expect(node.state()).toEqual(pristine);
            expect(await node.criStatus()).toBe("ok");
            expect(await statusBecomes(undefined)).toBeUndefined();
            await a.remove();
            await createDaemonSet(cp);
        }, 300_000);

        test("a runtime that fails to come up: rolled back, not Ready, the reason in the log; the retry configures it", async () => {
            node.setBreak("cri");
            const a = await start(FIRST);
            const log = await a.waitLog(/apply failed on node agent-node-1:/);
            expect(log).toMatch(/containerd was not healthy after the change, so the previous files were put back/);
            expect(log).toMatch(/the CRI plugin is error/);
            expect(await a.ready()).toBe(false);
            expect(etc(node.state())).toEqual(etc(pristine));
            expect(await node.criStatus()).toBe("ok");
            expect(await statusBecomes(/^failed: /)).toMatch(
                /^failed: dragonfly-cce: containerd was not healthy after the change, so the previous files were put back/,
            );
            // Fixed: the retry (30 s later) configures the node.
            node.setBreak(undefined);
            await a.waitReady(120_000);
            expect(restartedOf(await summaryOf(a))).toBe("yes");
            expect(await statusBecomes(/^dragonfly-cce: changed=/)).toMatch(/^dragonfly-cce: changed=/);
            await a.terminate();
            await a.remove();
        }, 300_000);
    },
);

/** The node's files under /etc (the state without the scripts' own directory). */
function etc(o: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith("/etc/")));
}
