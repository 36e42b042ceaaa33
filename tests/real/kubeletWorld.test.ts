/**
 * The kubelet node of the local world (tests/helpers/world/kubeletNode.ts) and its stand-in
 * images (tests/helpers/world/images.ts).
 *
 * 1. The node's runtime (no kubelet needed): its containerd in the node's own PID and mount
 *    namespaces, whose PID 1 is enterable (`nsenter -t 1 -m`) from a host-PID container; every
 *    stand-in image, started as the chart starts it, answers the chart's probes and the
 *    project's checks.
 * 2. The kubelet world (real kubelet, kube-scheduler, kube-controller-manager, kube-apiserver,
 *    helm): the release installs with `helm install --wait --atomic`, every workload Running on
 *    the pool's node, the two Services' Endpoints are exactly their pods, uninstall and namespace
 *    deletion complete, a stand-in that fails its probe makes `--atomic` fail naming the
 *    workload, and teardown leaves the machine as it found it.
 */
import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { join } from "path";

import { renderStack } from "../../lib/render";
import { consoleServiceManifest, namespaceManifest, proxyServiceManifest, serviceNames } from "../../lib/cluster";
import { apiServerArgs, kineArgs, writeApiServerFiles } from "../helpers/kube/apiServer";
import { CHART_DIR, stackConfig } from "../helpers/kube/helm";
import { describePrivileged } from "../helpers/privileged";
import { toolPath } from "../helpers/tools";
import { makeCa, makeLeaf } from "../helpers/world/certs";
import { API_PORT, ControlPlane } from "../helpers/world/controlPlane";
import { run, RunResult, sleep, waitFor } from "../helpers/world/exec";
import {
    AGENT_IMAGE,
    buildStandinImages,
    CHART_IMAGES,
    importStandinImages,
    normalizedRef,
    PAUSE_IMAGE,
    StandinArchive,
    StandinRole,
} from "../helpers/world/images";
import { KubeletNode, machineState, MachineState, POOL_LABEL } from "../helpers/world/kubeletNode";
import { createNetwork, destroyNamespaces, removeStaleNamespaces } from "../helpers/world/netns";

const POOL = "local-pool";
const NODE_ADDRESS = "198.18.0.20";

/** ctr against the node's containerd, inside the node (its mount and network namespaces). */
function ctr(node: KubeletNode, args: string[], allowFailure = false): Promise<RunResult> {
    return node.exec(["ctr", "--namespace", "k8s.io", ...args], { allowFailure, timeoutMs: 60_000 });
}

/** Starts `ref` as the chart does (its own entrypoint, host network of the node), detached. */
async function startContainer(node: KubeletNode, ref: string, id: string, extra: string[] = []): Promise<void> {
    await ctr(node, ["run", "-d", "--net-host", ...extra, ref, id]);
}

async function stopContainer(node: KubeletNode, id: string): Promise<void> {
    await ctr(node, ["task", "kill", "-s", "SIGKILL", id], true);
    await waitFor(
        `container ${id} to stop`,
        async () => ((await ctr(node, ["task", "delete", id], true)).code === 0 ? true : undefined),
        20_000,
    ).catch(() => undefined);
    await ctr(node, ["container", "delete", id], true);
}

/** Runs a command in a running container until it succeeds (or 20 s pass); returns its last result. */
async function probe(node: KubeletNode, id: string, cmd: string[], want = 0): Promise<RunResult> {
    let last: RunResult = { code: -1, stdout: "", stderr: "" };
    const deadline = Date.now() + 20_000;
    for (let i = 0; Date.now() < deadline; i++) {
        last = await ctr(node, ["task", "exec", "--exec-id", `probe-${i}`, id, ...cmd], true);
        if (last.code === want) {
            return last;
        }
        await sleep(300);
    }
    return last;
}

describePrivileged(
    "the kubelet node's runtime and stand-in images",
    { root: true, commands: ["ip", "containerd", "ctr", "unshare", "nsenter", "busybox", "curl", "openssl"] },
    () => {
        let dir = "";
        const namespaces: string[] = [];
        let node: KubeletNode;
        let archive: StandinArchive;
        let before: MachineState;

        beforeAll(async () => {
            dir = mkdtempSync("/var/tmp/dfcce-kubelet-rt-");
            removeStaleNamespaces();
            before = machineState();
            archive = await buildStandinImages({ dir: join(dir, "images") });
            const net = await createNetwork(process.pid, { kubelet: [20] }, namespaces);
            node = new KubeletNode({
                hubNetns: net.hub.netns,
                netns: net.hosts.kubelet.netns,
                address: NODE_ADDRESS,
                caFile: "/dev/null",
                token: "unused",
                dir: join(dir, "node"),
                nodeName: "kubelet-1",
                pool: POOL,
                apiGet: () => Promise.resolve({ code: 1, stdout: "", stderr: "no API server here" }),
            });
            await node.startRuntime(archive);
        }, 300_000);

        afterAll(async () => {
            const left = node ? await node.stop() : [];
            destroyNamespaces(namespaces);
            if (dir !== "") {
                rmSync(dir, { recursive: true, force: true });
            }
            expect(left).toEqual([]);
        }, 120_000);

        test("every image the rendered chart names, and the pause image, is in the node's containerd", async () => {
            const r = await ctr(node, ["images", "list", "-q"]);
            const listed = r.stdout.split("\n");
            const wanted = [...Object.values(CHART_IMAGES), PAUSE_IMAGE, AGENT_IMAGE].map(normalizedRef);
            for (const ref of wanted) {
                expect(listed).toContain(ref);
            }
            expect(archive.refs.sort()).toEqual(wanted.sort());
            expect(wanted).toContain("docker.io/library/busybox:latest");
        });

        test("the node has its own PID 1, and a host-PID container's nsenter -t 1 -m lands in the node", async () => {
            const pid1 = await node.exec(["cat", "/proc/1/cmdline"]);
            expect(pid1.stdout.replace(/\0/g, " ")).toContain("node-init.sh");
            // A container in the node's PID namespace (what hostPID gives a pod) enters PID 1's
            // mount namespace and sees the node's containerd config, not the machine's.
            await startContainer(node, normalizedRef(CHART_IMAGES.busybox), "hostpid", [
                "--privileged",
                "--with-ns",
                "pid:/proc/1/ns/pid",
            ]);
            try {
                const r = await probe(node, "hostpid", ["nsenter", "-t", "1", "-m", "--", "cat", "/proc/1/cmdline"]);
                expect(r.code).toBe(0);
                expect(r.stdout).toContain("node-init.sh");
                const cfg = await probe(node, "hostpid", [
                    "nsenter",
                    "-t",
                    "1",
                    "-m",
                    "--",
                    "cat",
                    "/etc/containerd/config.toml",
                ]);
                expect(cfg.stdout).toContain(join(dir, "node", "containerd-root"));
            } finally {
                await stopContainer(node, "hostpid");
            }
        }, 120_000);

        test("the node agent's busybox image runs busybox sh with nsenter, sleep and cat", async () => {
            const id = "agent-busybox";
            await ctr(node, ["run", "-d", "--net-host", AGENT_IMAGE, id, "sleep", "600"]);
            try {
                const r = await probe(node, id, [
                    "sh",
                    "-c",
                    'readlink /bin/sh; for a in nsenter sleep cat; do command -v "$a"; done; sh --help 2>&1 | head -n 1',
                ]);
                // busybox's sh runs its own applets before PATH: `command -v` names them bare.
                expect(r.stdout.split("\n").slice(0, 5)).toEqual([
                    "busybox",
                    "nsenter",
                    "sleep",
                    "cat",
                    expect.stringMatching(/^BusyBox v/),
                ]);
            } finally {
                await stopContainer(node, id);
            }
        }, 120_000);

        const cases: Array<{ role: StandinRole; checks: Array<{ cmd: string[]; out?: RegExp }>; readOnly?: boolean }> =
            [
                {
                    role: "manager",
                    checks: [
                        { cmd: ["/bin/grpc_health_probe", "-addr=:65003", "-connect-timeout=3s"], out: /SERVING/ },
                        {
                            cmd: [
                                "/bin/node",
                                "-e",
                                'fetch("http://127.0.0.1:8080/api/v1/users/signin",{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({name:"root",password:"dragonfly"})}).then(r=>{console.log(r.status);process.exit(r.status===200?0:1)})',
                            ],
                            out: /200/,
                        },
                    ],
                },
                { role: "scheduler", checks: [{ cmd: ["/bin/grpc_health_probe", "-addr=:8002"], out: /SERVING/ }] },
                {
                    role: "client",
                    checks: [
                        {
                            cmd: ["/bin/grpc_health_probe", "-addr=unix:///var/run/dragonfly/dfdaemon.sock"],
                            out: /SERVING/,
                        },
                        {
                            cmd: ["wget", "-qO-", "http://127.0.0.1:4002/metrics"],
                            out: /dragonfly_client_proxy_request_total/,
                        },
                    ],
                },
                {
                    role: "mysql",
                    readOnly: true,
                    checks: [
                        {
                            cmd: [
                                "/bin/bash",
                                "-ec",
                                'mysqladmin ping -uroot -p"${MYSQL_ROOT_PASSWORD:-}" | grep "mysqld is alive"',
                            ],
                            out: /mysqld is alive/,
                        },
                    ],
                },
            ];
        for (const c of cases) {
            test(`the ${c.role} stand-in answers its probes (${CHART_IMAGES[c.role]})`, async () => {
                const id = `standin-${c.role}`;
                await startContainer(node, CHART_IMAGES[c.role], id, c.readOnly ? ["--read-only", "--seccomp"] : []);
                try {
                    for (const check of c.checks) {
                        const r = await probe(node, id, check.cmd);
                        expect({ cmd: check.cmd.join(" "), code: r.code, stderr: r.stderr }).toEqual({
                            cmd: check.cmd.join(" "),
                            code: 0,
                            stderr: expect.any(String),
                        });
                        expect(r.stdout).toMatch(check.out ?? /./);
                    }
                } finally {
                    await stopContainer(node, id);
                }
            }, 120_000);
        }

        test("the redis stand-in runs the chart's start script shape and answers redis-cli ping with auth", async () => {
            const id = "standin-redis";
            await ctr(node, [
                "run",
                "-d",
                "--net-host",
                "--env",
                "REDIS_PORT=6379",
                "--env",
                "REDIS_PASSWORD=s3cret",
                CHART_IMAGES.redis,
                id,
                "/bin/bash",
                "-c",
                'ARGS=("--port" "${REDIS_PORT}"); ARGS+=("--requirepass" "${REDIS_PASSWORD}"); exec redis-server "${ARGS[@]}"',
            ]);
            try {
                const r = await probe(node, id, [
                    "/bin/bash",
                    "-c",
                    'export REDISCLI_AUTH="$REDIS_PASSWORD"; r=$(timeout -s 15 1 redis-cli -h localhost -p $REDIS_PORT ping); [ "$r" = PONG ] && echo "$r"',
                ]);
                expect(r.code).toBe(0);
                expect(r.stdout.trim()).toBe("PONG");
                // The busybox image's nc, as the chart's wait-for init containers call it.
                await ctr(node, [
                    "run",
                    "-d",
                    "--net-host",
                    normalizedRef(CHART_IMAGES.busybox),
                    "waitfor",
                    "sleep",
                    "600",
                ]);
                try {
                    const nc = await probe(node, "waitfor", ["sh", "-c", "nc -vz 127.0.0.1 6379"]);
                    expect({ code: nc.code, stderr: nc.stderr }).toEqual({
                        code: 0,
                        stderr: expect.stringContaining("open"),
                    });
                    const closed = await ctr(
                        node,
                        ["task", "exec", "--exec-id", "closed", "waitfor", "nc", "-vz", "127.0.0.1", "6380"],
                        true,
                    );
                    expect(closed.code).not.toBe(0);
                } finally {
                    await stopContainer(node, "waitfor");
                }
            } finally {
                await stopContainer(node, id);
            }
        }, 120_000);

        test("an image built to fail its probe fails it", async () => {
            const failing = await buildStandinImages({ dir: join(dir, "failing"), failingProbe: ["scheduler"] });
            await run(
                "ctr",
                ["--address", node.containerdSocket, "--namespace", "k8s.io", "images", "import", failing.file],
                {
                    timeoutMs: 300_000,
                },
            );
            try {
                await startContainer(node, CHART_IMAGES.scheduler, "failing");
                try {
                    const r = await probe(node, "failing", ["/bin/grpc_health_probe", "-addr=:8002"], 1);
                    expect(r.code).toBe(1);
                    expect(r.stderr).toMatch(/NOT_SERVING/);
                } finally {
                    await stopContainer(node, "failing");
                }
            } finally {
                await run(
                    "ctr",
                    ["--address", node.containerdSocket, "--namespace", "k8s.io", "images", "import", archive.file],
                    {
                        timeoutMs: 300_000,
                    },
                );
            }
        }, 300_000);

        test("the node changes nothing on the machine while it runs (only its cgroup root)", () => {
            const now = machineState();
            expect(now.iptablesChains).toEqual(before.iptablesChains);
            expect(now.devicePluginSocket).toBe(before.devicePluginSocket);
            expect(now.mounts).toEqual(before.mounts);
        });
    },
);

interface Pod {
    metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string }> };
    spec: { nodeName?: string };
    status: { phase: string; containerStatuses?: Array<{ name: string; ready: boolean; restartCount: number }> };
}

describePrivileged(
    "the kubelet world: the release rolls out on a real kubelet",
    {
        root: true,
        commands: ["ip", "containerd", "ctr", "unshare", "nsenter", "busybox", "curl", "openssl", "iptables-save"],
        tools: ["helm", "kine", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"],
    },
    () => {
        let dir = "";
        const namespaces: string[] = [];
        const cfg = stackConfig({
            nodePool: POOL,
            namespace: "dragonfly-system",
            releaseName: "dragonfly",
            proxy: { port: 4001 },
            console: { nodePort: 30080, nodeAddress: NODE_ADDRESS, rotatePassword: false },
        });
        const ns = cfg.core.namespace;
        const figures: Record<string, number> = {};
        let before: MachineState;
        let cp: ControlPlane;
        let node: KubeletNode;
        let archive: StandinArchive;
        let valuesDir: string;

        function helm(args: string[], timeoutMs = 600_000): Promise<RunResult> {
            const home = join(dir, "helm-home");
            return run(toolPath("helm"), ["--kubeconfig", cp.kubeconfigFile, ...args], {
                netns: cp.opts.netns,
                allowFailure: true,
                timeoutMs,
                env: {
                    PATH: process.env.PATH,
                    HOME: home,
                    HELM_CACHE_HOME: join(home, "cache"),
                    HELM_CONFIG_HOME: join(home, "config"),
                    HELM_DATA_HOME: join(home, "data"),
                },
            });
        }

        async function create(path: string, obj: unknown): Promise<void> {
            const r = await cp.api("POST", path, obj);
            if (r.code !== 0) {
                throw new Error(`POST ${path} failed (curl exit ${r.code}): ${r.stdout}${r.stderr}`);
            }
        }

        async function getJson<T>(path: string): Promise<T> {
            const r = await cp.get(path);
            if (r.code !== 0) {
                throw new Error(`GET ${path} failed (curl exit ${r.code})`);
            }
            return JSON.parse(r.stdout) as T;
        }

        /** Each pod's phase, node and container states (for failure messages). */
        async function podSummary(namespace: string): Promise<string> {
            const r = await cp.get(`/api/v1/namespaces/${namespace}/pods`);
            if (r.code !== 0) {
                return `(no pods: curl exit ${r.code})`;
            }
            const pods = (
                JSON.parse(r.stdout) as {
                    items: Array<{
                        metadata: { name: string };
                        spec: { nodeName?: string };
                        status: {
                            phase: string;
                            conditions?: Array<{ type: string; status: string; message?: string }>;
                            initContainerStatuses?: Array<{ name: string; state: Record<string, unknown> }>;
                            containerStatuses?: Array<{ name: string; ready: boolean; state: Record<string, unknown> }>;
                        };
                    }>;
                }
            ).items;
            return pods
                .map(
                    (p) =>
                        `${p.metadata.name} ${p.status.phase} on ${p.spec.nodeName ?? "-"}: ` +
                        JSON.stringify({
                            init: p.status.initContainerStatuses?.map((c) => [c.name, c.state]),
                            containers: p.status.containerStatuses?.map((c) => [c.name, c.ready, c.state]),
                            unscheduled: p.status.conditions?.find(
                                (c) => c.type === "PodScheduled" && c.status !== "True",
                            )?.message,
                        }),
                )
                .join("\n");
        }

        /** The Namespace and the two Services, from lib/services.ts as the stack creates them. */
        async function createStackObjects(): Promise<void> {
            await create("/api/v1/namespaces", namespaceManifest(cfg.core));
            await create(`/api/v1/namespaces/${ns}/services`, proxyServiceManifest(cfg.core));
            await create(`/api/v1/namespaces/${ns}/services`, consoleServiceManifest(cfg.core));
        }

        /** `helm install --wait --atomic` of the stack's values, as the release installs them. */
        function install(timeout = "8m", extra: string[] = []): Promise<RunResult> {
            return helm([
                "install",
                cfg.core.releaseName,
                CHART_DIR,
                "--namespace",
                ns,
                "-f",
                join(valuesDir, "values.yaml"),
                "-f",
                join(valuesDir, "values.secrets.yaml"),
                "--wait",
                "--atomic",
                "--timeout",
                timeout,
                ...extra,
            ]);
        }

        async function deleteNamespace(): Promise<void> {
            await cp.api("DELETE", `/api/v1/namespaces/${ns}`);
            await waitFor(
                `namespace ${ns} to be gone`,
                async () => ((await cp.get(`/api/v1/namespaces/${ns}`)).code === 22 ? true : undefined),
                300_000,
            );
        }

        beforeAll(async () => {
            dir = mkdtempSync("/var/tmp/dfcce-kubelet-world-");
            removeStaleNamespaces();
            before = machineState();
            archive = await buildStandinImages({ dir: join(dir, "images") });
            const net = await createNetwork(process.pid, { kubelet: [20] }, namespaces);
            // Node,RBAC with NodeRestriction, the kubelet's own node token, kube-scheduler.
            cp = new ControlPlane({
                netns: net.hub.netns,
                dir: join(dir, "control-plane"),
                loadBalancerAddress: NODE_ADDRESS,
                nodes: ["kubelet-1"],
                advertiseAddress: "198.18.0.1",
            });
            await cp.start();
            node = new KubeletNode({
                hubNetns: net.hub.netns,
                netns: net.hosts.kubelet.netns,
                address: NODE_ADDRESS,
                caFile: cp.caFile,
                token: cp.nodeToken("kubelet-1"),
                dnsToken: cp.token,
                dir: join(dir, "node"),
                nodeName: "kubelet-1",
                pool: POOL,
                apiGet: (p) => cp.get(p),
            });
            await node.start(archive);
            figures.nodeUpSeconds = node.upSeconds;

            // The values files the stack gives Helm (generated secrets included).
            valuesDir = join(dir, "values");
            mkdirSync(valuesDir, { recursive: true });
            for (const f of renderStack(cfg, { proxyHost: NODE_ADDRESS })) {
                if (f.path === "values.yaml" || f.path === "values.secrets.yaml") {
                    writeFileSync(join(valuesDir, f.path), f.content, { mode: 0o600 });
                }
            }
            // CCE's csi-disk class: here static hostPath volumes in the node's directory, one per claim.
            await create("/apis/storage.k8s.io/v1/storageclasses", {
                apiVersion: "storage.k8s.io/v1",
                kind: "StorageClass",
                metadata: { name: "csi-disk" },
                provisioner: "kubernetes.io/no-provisioner",
                volumeBindingMode: "Immediate",
            });
            // Eight claims per install, two installs: a released hostPath volume is not reused.
            for (let i = 0; i < 16; i++) {
                await create("/api/v1/persistentvolumes", {
                    apiVersion: "v1",
                    kind: "PersistentVolume",
                    metadata: { name: `local-pv-${i}` },
                    spec: {
                        storageClassName: "csi-disk",
                        capacity: { storage: "100Gi" },
                        accessModes: ["ReadWriteOnce"],
                        persistentVolumeReclaimPolicy: "Delete",
                        hostPath: { path: join(dir, "node", "pv", String(i)), type: "DirectoryOrCreate" },
                    },
                });
            }
        }, 600_000);

        afterAll(async () => {
            const t0 = Date.now();
            const left = node ? await node.stop() : [];
            cp?.stop();
            destroyNamespaces(namespaces);
            figures.teardownSeconds = (Date.now() - t0) / 1000;
            process.stderr.write(`kubelet world figures: ${JSON.stringify(figures)}\n`);
            const after = machineState();
            // DFCCE_KEEP_WORLD=1 keeps the directory (logs of the kubelet, containerd, pods).
            if (dir !== "" && process.env.DFCCE_KEEP_WORLD !== "1") {
                rmSync(dir, { recursive: true, force: true });
            }
            expect(left).toEqual([]);
            // Teardown leaves the machine as it found it.
            expect(after).toEqual(before);
        }, 300_000);

        test("the Node registers with the pool's label and is Ready", async () => {
            const n = await getJson<{ metadata: { labels: Record<string, string> } }>("/api/v1/nodes/kubelet-1");
            expect(n.metadata.labels[POOL_LABEL]).toBe(POOL);
        });

        test("a privileged hostPID pod's nsenter -t 1 -m enters the node's init, not the machine's PID 1", async () => {
            await create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "agent" } });
            await create("/api/v1/namespaces/agent/pods", {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "enter-pid1" },
                spec: {
                    hostPID: true,
                    restartPolicy: "Never",
                    nodeSelector: { [POOL_LABEL]: POOL },
                    containers: [
                        {
                            name: "enter",
                            image: CHART_IMAGES.busybox,
                            imagePullPolicy: "Never",
                            securityContext: { privileged: true },
                            command: ["nsenter", "-t", "1", "-m", "--", "cat", "/proc/1/cmdline"],
                        },
                    ],
                },
            });
            const phase = await waitFor(
                "pod agent/enter-pid1 to finish",
                async () => {
                    const p = await getJson<Pod>("/api/v1/namespaces/agent/pods/enter-pid1");
                    return ["Succeeded", "Failed"].includes(p.status.phase) ? p.status.phase : undefined;
                },
                120_000,
            ).catch(async (e: Error) => {
                throw new Error(`${e.message}\n${await podSummary("agent")}\nkubelet:\n${node.log("kubelet")}`);
            });
            const logs = await node.exec(["sh", "-c", "cat /var/log/pods/agent_enter-pid1_*/enter/0.log"], {
                allowFailure: true,
            });
            expect({ phase, log: logs.stdout }).toEqual({
                phase: "Succeeded",
                log: expect.stringContaining("node-init.sh"),
            });
            await cp.api("DELETE", "/api/v1/namespaces/agent");
        }, 180_000);

        test("helm install --wait --atomic rolls the release out: every workload Running on the pool's node", async () => {
            await createStackObjects();
            const t0 = Date.now();
            const r = await install();
            figures.releaseRolledOutSeconds = (Date.now() - t0) / 1000;
            if (r.code !== 0) {
                throw new Error(
                    `helm install failed:\n${r.stdout}${r.stderr}\npods:\n${await podSummary(ns)}\n` +
                        `kubelet:\n${node.log("kubelet")}`,
                );
            }

            const pods = (await getJson<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`)).items;
            const owners = new Set(pods.map((p) => p.metadata.ownerReferences?.[0]?.name ?? ""));
            // Deployments own pods through ReplicaSets (dragonfly-manager-<hash>).
            for (const w of [
                "dragonfly-client",
                "dragonfly-seed-client",
                "dragonfly-scheduler",
                "dragonfly-mysql",
                "dragonfly-redis-master",
                "dragonfly-redis-replicas",
            ]) {
                expect([...owners]).toContain(w);
            }
            expect([...owners].some((o) => o.startsWith("dragonfly-manager-"))).toBe(true);
            for (const p of pods) {
                expect({
                    pod: p.metadata.name,
                    node: p.spec.nodeName,
                    phase: p.status.phase,
                    ready: (p.status.containerStatuses ?? []).every((c) => c.ready),
                }).toEqual({ pod: p.metadata.name, node: "kubelet-1", phase: "Running", ready: true });
            }
            const status = await helm(["status", cfg.core.releaseName, "--namespace", ns]);
            expect(status.stdout).toMatch(/STATUS: deployed/);
        }, 900_000);

        test("the proxy Service's Endpoints are exactly the client pods, the console Service's the manager pods", async () => {
            const pods = (
                await getJson<{ items: Array<Pod & { metadata: { labels: Record<string, string> } }> }>(
                    `/api/v1/namespaces/${ns}/pods`,
                )
            ).items;
            const names = serviceNames(cfg.core.releaseName);
            const endpointPods = async (svc: string) =>
                (
                    await getJson<{ subsets?: Array<{ addresses?: Array<{ targetRef?: { name: string } }> }> }>(
                        `/api/v1/namespaces/${ns}/endpoints/${svc}`,
                    )
                ).subsets
                    ?.flatMap((s) => s.addresses ?? [])
                    .map((a) => a.targetRef?.name ?? "")
                    .sort() ?? [];
            const clientPods = pods
                .filter((p) => p.metadata.ownerReferences?.[0]?.name === "dragonfly-client")
                .map((p) => p.metadata.name)
                .sort();
            const managerPods = pods
                .filter((p) => p.metadata.ownerReferences?.[0]?.name.startsWith("dragonfly-manager-"))
                .map((p) => p.metadata.name)
                .sort();
            expect(clientPods.length).toBe(1);
            expect(managerPods.length).toBeGreaterThan(0);
            expect(await endpointPods(names.proxy)).toEqual(clientPods);
            expect(await endpointPods(names.console)).toEqual(managerPods);
        });

        test("helm uninstall and the namespace's deletion complete", async () => {
            const t0 = Date.now();
            const r = await helm(["uninstall", cfg.core.releaseName, "--namespace", ns, "--wait", "--timeout", "5m"]);
            expect(r.code).toBe(0);
            await deleteNamespace();
            figures.uninstallAndNamespaceSeconds = (Date.now() - t0) / 1000;
        }, 600_000);

        test("a client stand-in that fails its probe makes helm install --atomic fail and roll back, naming the workload", async () => {
            const failing = await buildStandinImages({ dir: join(dir, "failing"), failingProbe: ["client"] });
            await importStandinImages(node.containerdSocket, failing);
            try {
                await createStackObjects();
                // Helm's wait log (--debug) says which workload never became ready.
                const r = await install("240s", ["--debug"]);
                expect(r.code).not.toBe(0);
                // Helm's error itself says only "context deadline exceeded"; its wait log names
                // the workload that never became ready. The client image is the seed client's
                // too (chart 1.7.4), and Helm reports the first unready resource of each poll:
                // the seed client's StatefulSet or the client's DaemonSet, whichever it reaches.
                expect(r.stderr).toMatch(/has been uninstalled due to atomic being set/);
                expect(r.stdout + r.stderr).toMatch(
                    /(DaemonSet is not ready: dragonfly-system\/dragonfly-client|StatefulSet is not ready: dragonfly-system\/dragonfly-seed-client)\./,
                );
                // atomic rolled the install back: no release is left.
                const status = await helm(["status", cfg.core.releaseName, "--namespace", ns]);
                expect(status.code).not.toBe(0);
                await deleteNamespace();
            } finally {
                await importStandinImages(node.containerdSocket, archive);
            }
        }, 900_000);
    },
);

describePrivileged(
    "the kubelet node reaches the hub's API server and answers cluster DNS names",
    {
        root: true,
        commands: ["ip", "containerd", "ctr", "unshare", "nsenter", "curl", "openssl"],
        tools: ["kine", "kube-apiserver"],
    },
    () => {
        let dir = "";
        const namespaces: string[] = [];
        const procs: ChildProcess[] = [];
        let node: KubeletNode;
        let hub: string;
        let caFile: string;
        let token: string;

        function api(method: string, path: string, body?: unknown): Promise<RunResult> {
            return run(
                "curl",
                [
                    "-sf",
                    "-X",
                    method,
                    "--cacert",
                    caFile,
                    "-H",
                    `Authorization: Bearer ${token}`,
                    ...(body === undefined ? [] : ["-H", "Content-Type: application/json", "--data-binary", "@-"]),
                    `https://127.0.0.1:${API_PORT}${path}`,
                ],
                { netns: hub, allowFailure: true, input: body === undefined ? undefined : JSON.stringify(body) },
            );
        }

        beforeAll(async () => {
            dir = mkdtempSync("/var/tmp/dfcce-kubelet-dns-");
            removeStaleNamespaces();
            const net = await createNetwork(process.pid, { kubelet: [20] }, namespaces);
            hub = net.hub.netns;
            const cpDir = join(dir, "control-plane");
            mkdirSync(cpDir, { recursive: true });
            const ca = await makeCa(cpDir, "kube");
            caFile = ca.cert;
            const serving = await makeLeaf(cpDir, "apiserver", ca, ["127.0.0.1"]);
            token = randomBytes(16).toString("hex");
            await writeApiServerFiles(cpDir, token);
            const spawnInHub = (tool: string, args: string[]) =>
                procs.push(spawn("ip", ["netns", "exec", hub, toolPath(tool), ...args], { stdio: "ignore" }));
            spawnInHub("kine", [...kineArgs(cpDir, 2379), "--metrics-bind-address", "0"]);
            spawnInHub(
                "kube-apiserver",
                apiServerArgs({ dir: cpDir, port: API_PORT, kinePort: 2379, serving, authorization: "RBAC" }),
            );
            await waitFor(
                "kube-apiserver /readyz",
                async () => ((await api("GET", "/readyz")).stdout === "ok" ? true : undefined),
                180_000,
            );
            node = new KubeletNode({
                hubNetns: hub,
                netns: net.hosts.kubelet.netns,
                address: NODE_ADDRESS,
                caFile,
                token,
                dir: join(dir, "node"),
                nodeName: "kubelet-1",
                pool: POOL,
                apiGet: (p) => api("GET", p),
            });
            await node.startRuntime({ file: "", refs: [] }, { importImages: false });
        }, 300_000);

        afterAll(async () => {
            const left = node ? await node.stop() : [];
            for (const p of procs) {
                p.kill("SIGKILL");
            }
            destroyNamespaces(namespaces);
            if (dir !== "") {
                rmSync(dir, { recursive: true, force: true });
            }
            expect(left).toEqual([]);
        }, 120_000);

        test("the node reaches the API server at 127.0.0.1:6443, the address its certificate names", async () => {
            const readyz = await waitFor(
                "the API server through the node's relay",
                async () => {
                    const r = await node.exec(
                        [
                            "curl",
                            "-sf",
                            "--cacert",
                            caFile,
                            "-H",
                            `Authorization: Bearer ${token}`,
                            `https://127.0.0.1:${API_PORT}/readyz`,
                        ],
                        { allowFailure: true },
                    );
                    return r.code === 0 ? r.stdout : undefined;
                },
                20_000,
            );
            expect(readyz).toBe("ok");
        });

        test("a Service name resolves to its ready endpoints, a StatefulSet pod's name to its own", async () => {
            await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "dns" } });
            const created = await api("POST", "/api/v1/namespaces/dns/endpoints", {
                apiVersion: "v1",
                kind: "Endpoints",
                metadata: { name: "redis-headless" },
                subsets: [
                    {
                        addresses: [
                            { ip: "10.244.0.7", hostname: "redis-0" },
                            { ip: "10.244.0.8", hostname: "redis-1" },
                        ],
                        ports: [{ port: 6379 }],
                    },
                ],
            });
            expect(created.code).toBe(0);
            const resolve = (name: string) =>
                node.exec(
                    [
                        process.execPath,
                        "-e",
                        `const d=require("dns");d.setServers(["127.0.0.1"]);d.resolve4(process.argv[1],(e,a)=>{console.log(e?e.code:a.sort().join(","))})`,
                        name,
                    ],
                    { allowFailure: true },
                );
            expect((await resolve("redis-headless.dns.svc.cluster.local")).stdout.trim()).toBe("10.244.0.7,10.244.0.8");
            expect((await resolve("redis-1.redis-headless.dns.svc.cluster.local")).stdout.trim()).toBe("10.244.0.8");
            expect((await resolve("nothing.dns.svc.cluster.local")).stdout.trim()).toBe("ENOTFOUND");
        });
    },
);
