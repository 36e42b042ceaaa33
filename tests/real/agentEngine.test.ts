/**
 * The node agent end to end: the real Pulumi CLI, language host and providers run this program
 * with `nodeAgent.enabled: true` and no SSH `nodes` against the local world
 * (tests/helpers/world/local.ts; its one SSH node is not in the stack), whose pool's node runs a real kubelet and
 * kube-proxy. The agent's DaemonSet runs there, in the stand-in of its own image (busybox 1.37.0),
 * and configures the node's own containerd from inside the cluster.
 *
 * The node is made to look like a node to the scripts (tests/agent/agentWorld.ts, AgentNode: in
 * the node's mount namespace only, a private /etc/systemd/system and /tmp, and a systemctl that
 * restarts the very containerd the node's kubelet uses). Everything is read where it is: the
 * node's files inside its mount namespace, containerd's pid in its PID namespace, the pod's
 * status and log as the kubelet reports and writes them.
 *
 * One stack's life, in order: up (the agent's pod Ready once the node is configured; agentNodes),
 * a no-op up (nothing changes, nothing restarts), one more registry (the DaemonSet rolls, one
 * restart), destroy (the node's files byte for byte as before the first up; the namespace gone).
 * Figures (start to Ready from the pod's status, restarts per node) are printed.
 */
import { mkdtempSync, rmSync, statSync } from "fs";
import { join } from "path";

import { AGENT_NAME, AGENT_STATUS_CONFIGMAP, CONFIG_HASH_ANNOTATION } from "../../lib/agent";
import { AgentNode } from "../agent/agentWorld";
import {
    agentPodLog,
    AgentPod,
    agentPods as listAgentPods,
    agentStackConfig,
    startToReady,
} from "../helpers/agentEngine";
import { CliResult, LOCAL_WORLD_TOOLS, EngineProject, lastChanges, ok } from "../helpers/engine";
import { describePrivileged } from "../helpers/privileged";
import { KUBELET_NODE, LocalWorld, WorldInfo } from "../helpers/world/local";

const STACK = "agent";
const NS = "dragonfly-system";
const CONFIG_TOML = "/etc/containerd/config.toml";
const EXTRA_REGISTRY = "swr.cn-north-4.myhuaweicloud.com";

describePrivileged(
    "the node agent runs for real: the Pulumi engine deploys it on the local world's kubelet node",
    {
        root: true,
        commands: ["ip", "containerd", "ctr", "curl", "openssl", "unshare", "nsenter", "busybox", "pidof"],
        tools: LOCAL_WORLD_TOOLS,
    },
    () => {
        const dir = mkdtempSync("/var/tmp/dfcce-agent-engine-");
        let world: LocalWorld;
        let info: WorldInfo;
        let project: EngineProject;
        let node: AgentNode;
        /** The node's containerd and systemd files, and the state directory, before the first up. */
        let pristine: Record<string, string> = {};
        const figures: Record<string, number | string> = {};
        let firstPod: AgentPod | undefined;

        const fail = (r: CliResult) => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`;
        const get = async (path: string): Promise<any> => {
            const r = await world.controlPlane.get(path);
            return r.code === 0 ? JSON.parse(r.stdout) : undefined;
        };
        const up = async (): Promise<CliResult> => {
            const r = await project.pulumi(["up", "--yes", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            return r;
        };
        const agentPods = () => listAgentPods(world.controlPlane);
        /** The one agent pod, on the kubelet node. */
        const onePod = async (): Promise<AgentPod> => {
            const pods = await agentPods();
            expect(pods.map((p) => p.spec.nodeName)).toEqual([KUBELET_NODE]);
            return pods[0];
        };
        const podLog = (p: AgentPod) => agentPodLog(world.kubelet, p);
        const restarts = () => node.systemctlCalls().filter((c) => c === "systemctl restart containerd").length;
        const outputs = async (): Promise<Record<string, unknown>> =>
            JSON.parse(ok(await project.pulumi(["stack", "output", "--json", "--stack", STACK]), "output").stdout);

        beforeAll(async () => {
            // The world's one SSH node (its minimum) stays out of the stack: the agent refuses listed nodes.
            world = new LocalWorld({ dir: join(dir, "world"), nodes: 1 });
            info = await world.start();
            node = new AgentNode(world.kubelet, join(dir, "agent-node"));
            await node.prepare();
            pristine = node.state();
            project = new EngineProject({
                world: info,
                dir,
                stack: STACK,
                config: agentStackConfig(["198.18.0.3:5000"]),
            });
            ok(await project.pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase"]), "stack init");
        }, 300_000);

        afterAll(async () => {
            process.stderr.write(`agent engine figures: ${JSON.stringify(figures)}\n`);
            const left = world ? await world.destroy() : [];
            rmSync(dir, { recursive: true, force: true });
            expect(left).toEqual([]);
        }, 120_000);

        test("pulumi up creates the agent; its pod is Ready once the node's containerd is configured; agentNodes lists the node", async () => {
            expect(pristine[CONFIG_TOML]).toBeDefined();
            const pid = await node.containerdPid();
            await up();
            const pod = await onePod();
            firstPod = pod;
            expect(pod.status.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
            // The node's own containerd runs the new config: restarted once, CRI healthy.
            expect(await node.containerdPid()).not.toBe(pid);
            expect(restarts()).toBe(1);
            expect(await node.criStatus()).toBe("ok");
            expect(node.state()[CONFIG_TOML]).not.toBe(pristine[CONFIG_TOML]);
            const dropIn = node.read("/etc/systemd/system/containerd.service.d/http-proxy.conf");
            expect(dropIn).toContain(`HTTP_PROXY=http://${info.proxyAddress}`);
            // Ready came after the configuration was written (the probe's file follows the apply).
            const ready = pod.status.conditions?.find((c) => c.type === "Ready" && c.status === "True");
            const written = statSync(node.p(CONFIG_TOML)).mtimeMs;
            expect(Date.parse(ready?.lastTransitionTime ?? "")).toBeGreaterThanOrEqual(
                Math.floor(written / 1000) * 1000,
            );
            // The agent's log and the status ConfigMap say the same: changed, restarted.
            const log = await podLog(pod);
            expect(log).toMatch(/dragonfly-cce: changed=\S+, restarted=yes/);
            const status = await get(`/api/v1/namespaces/${NS}/configmaps/${AGENT_STATUS_CONFIGMAP}`);
            expect(status?.data?.[KUBELET_NODE]).toMatch(/^dragonfly-cce: changed=\S+, restarted=yes$/);
            // The DaemonSet is Ready as the provider awaited it.
            const ds = await get(`/apis/apps/v1/namespaces/${NS}/daemonsets/${AGENT_NAME}`);
            expect(ds?.status).toMatchObject({ desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1 });
            // The namespace lets the privileged pods in, and says why.
            const ns = await get(`/api/v1/namespaces/${NS}`);
            expect(ns?.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("privileged");
            expect((await outputs()).agentNodes).toEqual([KUBELET_NODE]);
            figures.firstStartToReadySeconds = startToReady(pod);
            figures.firstRestartsPerNode = restarts();
        }, 900_000);

        test("a second up changes nothing and restarts nothing", async () => {
            const pid = await node.containerdPid();
            const calls = restarts();
            const state = node.state();
            await up();
            const changes = await lastChanges(project, STACK);
            // Only "same" (and the status ConfigMap's read): no create, update, replace or delete.
            expect(Object.keys(changes).filter((k) => k !== "same" && k !== "read")).toEqual([]);
            const pod = await onePod();
            expect(pod.metadata.uid).toBe(firstPod?.metadata.uid);
            expect(pod.status.containerStatuses?.[0].restartCount).toBe(0);
            expect(await node.containerdPid()).toBe(pid);
            expect(restarts()).toBe(calls);
            expect(node.state()).toEqual(state);
            figures.noopRestartsPerNode = restarts() - calls;
        }, 600_000);

        test("one more registry rolls the DaemonSet: the node gets the new config with one restart", async () => {
            const pid = await node.containerdPid();
            const calls = restarts();
            project.writeConfig(agentStackConfig(["198.18.0.3:5000", EXTRA_REGISTRY]));
            await up();
            const pod = await onePod();
            expect(pod.metadata.uid).not.toBe(firstPod?.metadata.uid);
            expect(pod.metadata.annotations?.[CONFIG_HASH_ANNOTATION]).not.toBe(
                firstPod?.metadata.annotations?.[CONFIG_HASH_ANNOTATION],
            );
            expect(node.read(CONFIG_TOML)).toContain(
                `[plugins."io.containerd.grpc.v1.cri".registry.configs."${EXTRA_REGISTRY}".tls]`,
            );
            expect(await node.containerdPid()).not.toBe(pid);
            expect(restarts() - calls).toBe(1);
            expect(await node.criStatus()).toBe("ok");
            expect((await outputs()).agentNodes).toEqual([KUBELET_NODE]);
            figures.changeStartToReadySeconds = startToReady(pod);
            figures.changeRestartsPerNode = restarts() - calls;
        }, 900_000);

        test("pulumi destroy restores the node byte for byte and deletes the namespace", async () => {
            const r = await project.pulumi(["destroy", "--yes", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            expect(node.state()).toEqual(pristine);
            expect(await node.criStatus()).toBe("ok");
            expect(await get(`/api/v1/namespaces/${NS}`)).toBeUndefined();
        }, 900_000);
    },
);
