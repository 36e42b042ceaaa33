/**
 * The engine suite: the real Pulumi CLI, language host and providers (built by scripts/tools.sh)
 * run this program against the local world (tests/helpers/world/local.ts): a real API server
 * with kube-controller-manager and kube-scheduler, the pool's node with a real kubelet and
 * kube-proxy (its pods run stand-in images), two nodes with sshd and real containerd, the
 * Dragonfly client stand-in and the ELB stand-in. Every assertion is on what the real tools
 * report: the CLI's output and state, real `helm`, the API server, the nodes' files and
 * containerd.
 *
 * The tests run in order, as one stack's life: preview, up (the release rolls out with Helm's
 * wait and atomic), a no-op up, a config change, a consumer stack, refresh, destroy; then a
 * release that cannot become ready.
 */
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "fs";
import { join } from "path";

import {
    changedSteps,
    CliResult,
    LOCAL_WORLD_TOOLS,
    EngineProject,
    lastChanges,
    localConfig,
    ok,
    ROOT,
    urnName,
} from "../helpers/engine";
import { describePrivileged } from "../helpers/privileged";
import { toolPath } from "../helpers/tools";
import { waitFor } from "../helpers/world/exec";
import { AGENT_IMAGE, buildStandinImages, importStandinImages } from "../helpers/world/images";
import { KUBELET_NODE, LOCAL_POOL, LocalWorld, WorldInfo } from "../helpers/world/local";
import { POOL_LABEL } from "../helpers/world/kubeletNode";

const STACK = "local";
const NS = "dragonfly-system";

interface Pod {
    metadata: {
        name: string;
        labels?: Record<string, string>;
        ownerReferences?: Array<{ kind: string; name: string }>;
    };
    spec: { nodeName?: string };
    status: { phase: string; containerStatuses?: Array<{ ready: boolean }> };
}

/** The workload that owns a pod (a Deployment's pods are owned by its ReplicaSet `<name>-<hash>`). */
function owner(p: Pod): string {
    const o = p.metadata.ownerReferences?.[0];
    return o === undefined ? "" : o.kind === "ReplicaSet" ? o.name.replace(/-[a-z0-9]+$/, "") : o.name;
}

/** Every file under `dir` (relative path -> contents); a missing directory is empty. */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string, rel: string): void => {
        if (!existsSync(d)) {
            return;
        }
        for (const name of readdirSync(d).sort()) {
            const p = join(d, name);
            const r = rel === "" ? name : `${rel}/${name}`;
            if (statSync(p).isDirectory()) {
                walk(p, r);
            } else {
                out[r] = readFileSync(p, "utf8");
            }
        }
    };
    walk(dir, "");
    return out;
}

describePrivileged(
    "the real Pulumi engine runs the stack on the local world",
    {
        root: true,
        commands: [
            "ip",
            "containerd",
            "ctr",
            "sshd",
            "docker-registry",
            "curl",
            "openssl",
            "ssh-keygen",
            "unshare",
            "nsenter",
            "busybox",
            "iptables-save",
        ],
        tools: LOCAL_WORLD_TOOLS,
    },
    () => {
        const dir = mkdtempSync("/var/tmp/dfcce-engine-");
        let world: LocalWorld;
        let info: WorldInfo;
        let project: EngineProject;
        /** Each node's /etc/containerd and /etc/systemd/system before the first up. */
        const before: Record<string, string>[] = [];

        const helm = (args: string[]) =>
            project
                .run([toolPath("helm"), "--kubeconfig", info.kubeconfig, ...args])
                .then((r) => ok(r, `helm ${args[0]}`));
        const get = async (path: string) => {
            const r = await world.controlPlane.get(path);
            return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
        };
        const nodeFiles = (i: number) => ({
            ...snapshot(world.nodes[i].etcContainerd),
            ...Object.fromEntries(
                Object.entries(snapshot(world.nodes[i].etcSystemd)).map(([k, v]) => [`systemd/${k}`, v]),
            ),
        });
        const starts = () => world.nodes.map((n) => n.containerdStarts());
        const outputs = async (): Promise<Record<string, unknown>> =>
            JSON.parse(
                ok(await project.pulumi(["stack", "output", "--json", "--stack", STACK]), "stack output").stdout,
            );
        /** The world's host keys into the stack's config (they are not in Pulumi.local.yaml). */
        const setKnownHosts = async () =>
            ok(
                await project.pulumi([
                    "config",
                    "set",
                    "--stack",
                    STACK,
                    "--path",
                    "dragonfly-cce:ssh.knownHosts",
                    info.knownHosts,
                ]),
                "config set knownHosts",
            );
        const fail = (r: CliResult) => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`;
        const pods = async (): Promise<Pod[]> => ((await get(`/api/v1/namespaces/${NS}/pods`))?.items ?? []) as Pod[];
        /** Names of the pods a Service's Endpoints point at. */
        const endpointPods = async (svc: string): Promise<string[]> =>
            (
                ((await get(`/api/v1/namespaces/${NS}/endpoints/${svc}`))?.subsets ?? []) as Array<{
                    addresses?: Array<{ targetRef?: { name: string } }>;
                }>
            )
                .flatMap((x) => x.addresses ?? [])
                .map((a) => a.targetRef?.name ?? "")
                .sort();

        beforeAll(async () => {
            world = new LocalWorld({ dir: join(dir, "world"), nodes: 2 });
            info = await world.start();
            for (let i = 0; i < world.nodes.length; i++) {
                before.push(nodeFiles(i));
            }
            project = new EngineProject({ world: info, dir, stack: STACK, config: localConfig() });
            ok(await project.pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase"]), "stack init");
            // The credentials step of pr.yml and deploy.yml, as the workflows run it.
            const runnerTemp = join(dir, "runner-temp");
            mkdirSync(runnerTemp);
            const githubEnv = join(runnerTemp, "github-env");
            ok(
                await project.run(["bash", join(ROOT, ".github/scripts/credentials.sh")], {
                    env: {
                        PULUMI_STACK: STACK,
                        RUNNER_TEMP: runnerTemp,
                        GITHUB_ENV: githubEnv,
                        KUBECONFIG_CONTENTS: readFileSync(info.kubeconfig, "utf8"),
                        SSH_PRIVATE_KEY: readFileSync(info.sshKey, "utf8"),
                    },
                }),
                "credentials.sh",
            );
            expect(readFileSync(githubEnv, "utf8")).toBe(`KUBECONFIG=${join(runnerTemp, "kubeconfig")}\n`);
            project.env.KUBECONFIG = join(runnerTemp, "kubeconfig");
            await setKnownHosts();
        }, 300_000);

        afterAll(async () => {
            const left = world ? await world.destroy() : [];
            rmSync(dir, { recursive: true, force: true });
            // The world (the kubelet node included) leaves the machine as it found it.
            expect(left).toEqual([]);
        }, 120_000);

        test("a new stack's first preview (as pr.yml runs it) passes and prints no undefined", async () => {
            const r = await project.pulumi(["preview", "--diff", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            expect(r.stdout).not.toMatch(/undefined/);
            expect(r.stdout).toMatch(/consoleUrl\s*:\s*output<string>|consoleUrl/);
        }, 300_000);

        test("pulumi up (as deploy.yml runs it) deploys the release, both Services and both nodes", async () => {
            const r = await project.pulumi(["up", "--yes", "--diff", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });

            const releases = JSON.parse((await helm(["list", "-A", "-o", "json"])).stdout) as Array<
                Record<string, string>
            >;
            expect(releases.map((x) => ({ name: x.name, ns: x.namespace, status: x.status, chart: x.chart }))).toEqual([
                { name: "dragonfly", ns: "dragonfly-system", status: "deployed", chart: "dragonfly-1.7.4" },
            ]);

            const proxy = await get("/api/v1/namespaces/dragonfly-system/services/dragonfly-client-proxy");
            const console_ = await get("/api/v1/namespaces/dragonfly-system/services/dragonfly-manager-console");
            expect(proxy).toBeDefined();
            expect(console_).toBeDefined();
            const meta = (o: Record<string, unknown> | undefined) =>
                (o?.metadata as { annotations?: Record<string, string> }).annotations ?? {};
            expect(meta(proxy)["kubernetes.io/elb.class"]).toBe("union");
            expect(JSON.parse(meta(proxy)["kubernetes.io/elb.autocreate"])).toMatchObject({ type: "inner" });
            expect((proxy?.spec as { type: string }).type).toBe("LoadBalancer");
            expect((console_?.spec as { type: string; ports: Array<{ nodePort: number }> }).ports[0].nodePort).toBe(
                30080,
            );

            for (const node of world.nodes) {
                const dropIn = join(node.etcSystemd, "containerd.service.d", "http-proxy.conf");
                expect(readFileSync(dropIn, "utf8")).toContain(`HTTP_PROXY=http://${info.proxyAddress}`);
                const cri = await node.ssh("root", "ctr plugins ls | awk '$2 == \"cri\" { print $NF }'");
                expect(cri.stdout.trim()).toBe("ok");
            }

            const out = await outputs();
            expect({
                proxyAddress: out.proxyAddress,
                proxyUrl: out.proxyUrl,
                consoleUrl: out.consoleUrl,
                consoleNodePort: out.consoleNodePort,
                configuredNodes: out.configuredNodes,
                releaseStatus: out.releaseStatus,
                chartVersion: out.chartVersion,
            }).toEqual({
                proxyAddress: "198.18.0.2:4001",
                proxyUrl: "http://198.18.0.2:4001",
                consoleUrl: "http://198.18.0.20:30080",
                consoleNodePort: 30080,
                configuredNodes: ["node-1", "node-2"],
                releaseStatus: "deployed",
                chartVersion: "1.7.4",
            });
            // The pull check pulled the world's image on node-1 through the client stand-in.
            expect(out.verification).toMatchObject({ node: "node-1", image: info.checkImage, throughDragonfly: true });
        }, 600_000);

        test("the release rolled out: every workload Running and ready on the pool's node, helm status deployed", async () => {
            const all = await pods();
            const byOwner = new Map<string, Pod[]>();
            for (const p of all) {
                byOwner.set(owner(p), [...(byOwner.get(owner(p)) ?? []), p]);
            }
            // manager (Deployment), scheduler, seed client, MySQL, Redis (StatefulSets), client (DaemonSet).
            expect([...byOwner.keys()].sort()).toEqual(
                [
                    "dragonfly-client",
                    "dragonfly-manager",
                    "dragonfly-mysql",
                    "dragonfly-redis-master",
                    "dragonfly-redis-replicas",
                    "dragonfly-scheduler",
                    "dragonfly-seed-client",
                ].sort(),
            );
            for (const p of all) {
                expect({
                    pod: p.metadata.name,
                    node: p.spec.nodeName,
                    phase: p.status.phase,
                    ready:
                        (p.status.containerStatuses ?? []).length > 0 &&
                        (p.status.containerStatuses ?? []).every((c) => c.ready),
                }).toEqual({ pod: p.metadata.name, node: KUBELET_NODE, phase: "Running", ready: true });
            }
            const node = await get(`/api/v1/nodes/${KUBELET_NODE}`);
            expect((node?.metadata as { labels: Record<string, string> }).labels[POOL_LABEL]).toBe(LOCAL_POOL);
            // The proxy Service selects exactly the client pods, the console Service the manager pod.
            const names = (o: string) => (byOwner.get(o) ?? []).map((p) => p.metadata.name).sort();
            expect(names("dragonfly-client")).toHaveLength(1);
            expect(names("dragonfly-manager")).toHaveLength(1);
            expect(await endpointPods("dragonfly-client-proxy")).toEqual(names("dragonfly-client"));
            expect(await endpointPods("dragonfly-manager-console")).toEqual(names("dragonfly-manager"));
            const status = await helm(["status", "dragonfly", "--namespace", NS]);
            expect(status.stdout).toMatch(/^STATUS: deployed$/m);
        }, 120_000);

        test("a privileged hostPID pod (the node agent's image) that enters the node reaches the API server at the kubernetes Service", async () => {
            // What the node agent does on SIGTERM (docs/agent.md): from the node's namespaces,
            // the node's curl asks the API server at $KUBERNETES_SERVICE_HOST:PORT with the
            // pod's own token and CA (seen through /proc/<pid>/root: hostPID).
            const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
            // `$$$$`: the kubelet expands `$$` in a container's command to `$`.
            const script =
                `nsenter -t 1 -m -u -i -n -- curl -sS --max-time 10 --cacert /proc/$$$$/root${sa}/ca.crt ` +
                `-H "Authorization: Bearer $(cat ${sa}/token)" -H "Content-Type: application/json" ` +
                `--data-binary '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' ` +
                '"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews"' +
                // Not the script's last command: sh would exec it in its own place, and $$ (the
                // pod's process whose root holds the CA) would be curl in the node.
                "; r=$?; echo; exit $r";
            const created = await world.controlPlane.api("POST", "/api/v1/namespaces/default/pods", {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "enter-node" },
                spec: {
                    hostPID: true,
                    restartPolicy: "Never",
                    nodeSelector: { [POOL_LABEL]: LOCAL_POOL },
                    containers: [
                        {
                            name: "enter",
                            image: AGENT_IMAGE,
                            imagePullPolicy: "IfNotPresent",
                            securityContext: { privileged: true },
                            command: ["sh", "-c", script],
                        },
                    ],
                },
            });
            expect(created.code).toBe(0);
            const phase = await waitFor(
                "pod default/enter-node to finish",
                async () => {
                    const p = (await get("/api/v1/namespaces/default/pods/enter-node")) as unknown as Pod | undefined;
                    return ["Succeeded", "Failed"].includes(p?.status.phase ?? "") ? p?.status.phase : undefined;
                },
                120_000,
            );
            const log = await world.kubelet.exec(["sh", "-c", "cat /var/log/pods/default_enter-node_*/enter/0.log"], {
                allowFailure: true,
            });
            expect({ phase, log: log.stdout }).toEqual({
                phase: "Succeeded",
                log: expect.stringMatching(/"username":\s*"system:serviceaccount:default:default"/),
            });
            await world.controlPlane.api("DELETE", "/api/v1/namespaces/default/pods/enter-node?gracePeriodSeconds=0");
        }, 180_000);

        test("the console's password was rotated through its node port, and the rotated one signs in", async () => {
            const out = JSON.parse(
                ok(await project.pulumi(["stack", "output", "--json", "--show-secrets", "--stack", STACK]), "output")
                    .stdout,
            ) as { consoleCredentials?: { username: string; password: string } };
            expect(out.consoleCredentials?.username).toBe("root");
            const password = out.consoleCredentials?.password ?? "";
            expect(password).not.toBe("dragonfly");
            // From the hub, through the node port on the pool's node (kube-proxy) to the manager pod.
            const signin = (pw: string) =>
                project.run(
                    [
                        "curl",
                        "-s",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                        "-H",
                        "content-type: application/json",
                        "--data-binary",
                        "@-",
                        `http://${info.kubelet.host}:30080/api/v1/users/signin`,
                    ],
                    { input: JSON.stringify({ name: "root", password: pw }) },
                );
            expect((await signin(password)).stdout).toBe("200");
            expect((await signin("dragonfly")).stdout).toBe("401");
        }, 120_000);

        test("a second up changes nothing, runs no remote command and restarts no runtime", async () => {
            const was = starts();
            const r = await project.pulumi(["up", "--yes", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            const changes = await lastChanges(project, STACK);
            // Only "same": no create, update or replace, so no remote command ran.
            expect(Object.keys(changes)).toEqual(["same"]);
            expect(starts()).toEqual(was);
        }, 300_000);

        test("no generated secret or SSH key appears in a preview's text or, unencrypted, in the state", async () => {
            const exported = ok(
                await project.pulumi(["stack", "export", "--show-secrets", "--stack", STACK]),
                "export",
            );
            const deployment = JSON.parse(exported.stdout) as {
                deployment: { resources: Array<{ type: string; outputs?: { result?: unknown } }> };
            };
            // With --show-secrets a secret is {<signature>: ..., plaintext: "<JSON of the value>"}.
            const plain = (v: unknown): string =>
                typeof v === "object" && v !== null && "plaintext" in v
                    ? (JSON.parse((v as { plaintext: string }).plaintext) as string)
                    : String(v);
            const generated = deployment.deployment.resources
                .filter((x) => x.type === "random:index/randomPassword:RandomPassword")
                .map((x) => plain(x.outputs?.result));
            expect(generated.length).toBeGreaterThanOrEqual(4);
            const sshKeyBody = readFileSync(info.sshKey, "utf8").split("\n")[1];
            const secrets = [...generated, sshKeyBody];
            for (const s of secrets) {
                expect(s.length).toBeGreaterThan(10);
            }
            // A password the user gives in helmValues with --secret (an external Redis, say).
            const given = "user-given-Redis-pass-7421";
            ok(
                await project.pulumi(
                    [
                        "config",
                        "set",
                        "--stack",
                        STACK,
                        "--secret",
                        "--path",
                        "dragonfly-cce:helmValues.redis.auth.password",
                    ],
                    { input: given },
                ),
                "config set --secret helmValues",
            );
            secrets.push(given);
            const preview = await project.pulumi(["preview", "--diff", "--show-sames", "--stack", STACK]);
            ok(preview, "preview");
            // The reviewer sees that it changes, never what it is.
            expect(preview.stdout).toMatch(/password\s*: \[secret\]/);
            ok(await project.pulumi(["up", "--yes", "--stack", STACK]), "up with the secret helmValues");
            const state = ok(await project.pulumi(["stack", "export", "--stack", STACK]), "export").stdout;
            for (const s of secrets) {
                expect(preview.stdout.includes(s)).toBe(false);
                expect(state.includes(s)).toBe(false);
            }
        }, 300_000);

        test("after a config change, preview --diff names exactly what changes, Helm values readable", async () => {
            const config = localConfig({
                "dragonfly-cce:registries": ["198.18.0.3:5000", "registry.example.com"],
                "dragonfly-cce:rollout": { maxParallel: 1 },
                "dragonfly-cce:helmValues": {
                    ...(localConfig()["dragonfly-cce:helmValues"] as Record<string, unknown>),
                    scheduler: { replicas: 2 },
                },
            });
            const secure = project.readConfig()["dragonfly-cce:ssh"];
            project.writeConfig({ ...config, "dragonfly-cce:ssh": secure });
            await setKnownHosts();
            const json = ok(await project.pulumi(["preview", "--json", "--stack", STACK]), "preview --json");
            const steps = changedSteps(json.stdout).map((s) => `${s.op} ${urnName(s.urn)}`);
            expect(steps.sort()).toEqual(
                [
                    // The chart value.
                    "update dragonfly-release",
                    // Each node's scripts: an update runs the apply once (never a replacement,
                    // which would run the old command's restore after the new apply).
                    "update dragonfly-nodes-node-1-runtime",
                    "update dragonfly-nodes-node-2-runtime",
                    // The pull check re-runs when its node's configuration changed.
                    "replace dragonfly-verify-pull",
                    // The console rotation re-checks after every upgrade of the release (its
                    // trigger is the release's revision; a no-op when already rotated).
                    "replace dragonfly-console-password-rotate",
                ].sort(),
            );
            const diff = ok(await project.pulumi(["preview", "--diff", "--stack", STACK]), "preview --diff");
            // The reviewer sees the changed chart value and the new registry in plain text.
            expect(diff.stdout).toMatch(/~ scheduler: {\s*~ replicas\s*: 1 => 2/);
            expect(diff.stdout).toContain("registry.example.com");

            // The up that applies it leaves every node configured (an update runs the apply once;
            // a replacement would have run the old command's restore after it).
            const was = starts();
            ok(await project.pulumi(["up", "--yes", "--stack", STACK]), "up with the change");
            for (const node of world.nodes) {
                expect(existsSync(join(node.etcSystemd, "containerd.service.d", "http-proxy.conf"))).toBe(true);
            }
            expect(starts().map((n, i) => n - was[i])).toEqual(world.nodes.map(() => 1));
        }, 300_000);

        test("a consumer stack reads the outputs through a real StackReference", async () => {
            const consumer = new EngineProject({
                world: info,
                dir: join(dir, "consumer"),
                main: join(ROOT, "examples", "consumer"),
                stack: "consumer",
                config: {
                    "dragonfly-consumer:dragonflyStack": `organization/dragonfly-cce/${STACK}`,
                    "dragonfly-consumer:namespace": "default",
                },
                backendOf: project,
            });
            consumer.env.KUBECONFIG = project.env.KUBECONFIG;
            ok(await consumer.pulumi(["stack", "init", "consumer", "--secrets-provider", "passphrase"]), "init");
            ok(await consumer.pulumi(["preview", "--stack", "consumer"]), "consumer preview");
            ok(await consumer.pulumi(["up", "--yes", "--stack", "consumer"]), "consumer up");
            const out = JSON.parse(
                ok(await consumer.pulumi(["stack", "output", "--json", "--stack", "consumer"]), "output").stdout,
            ) as Record<string, string>;
            expect(out.proxyUrl).toBe("http://198.18.0.2:4001");
            const cm = await get("/api/v1/namespaces/default/configmaps/dragonfly-proxy");
            expect((cm?.data as Record<string, string>).HTTP_PROXY).toBe("http://198.18.0.2:4001");
            ok(await consumer.pulumi(["destroy", "--yes", "--stack", "consumer"]), "consumer destroy");
        }, 300_000);

        test("refresh reports no drift", async () => {
            project.writeConfig({ ...localConfig(), "dragonfly-cce:ssh": project.readConfig()["dragonfly-cce:ssh"] });
            await setKnownHosts();
            ok(await project.pulumi(["up", "--yes", "--stack", STACK]), "up with the original config");
            const r = await project.pulumi(["refresh", "--yes", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            expect(Object.keys(await lastChanges(project, STACK))).toEqual(["same"]);
            const p = await project.pulumi(["preview", "--expect-no-changes", "--stack", STACK]);
            expect({ status: p.status, out: p.status === 0 ? "" : fail(p) }).toEqual({ status: 0, out: "" });
        }, 300_000);

        test("destroy restores every node byte for byte, deletes the namespace and leaves no release", async () => {
            const r = await project.pulumi(["destroy", "--yes", "--stack", STACK]);
            expect({ status: r.status, out: r.status === 0 ? "" : fail(r) }).toEqual({ status: 0, out: "" });
            for (let i = 0; i < world.nodes.length; i++) {
                expect(nodeFiles(i)).toEqual(before[i]);
            }
            expect(await get("/api/v1/namespaces/dragonfly-system")).toBeUndefined();
            expect(JSON.parse((await helm(["list", "-A", "-o", "json"])).stdout)).toEqual([]);
            expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).toContain(info.hub);
        }, 300_000);

        test("a release that cannot become ready fails up and atomic rolls it back; the provider's log names the workload", async () => {
            // The manager's image fails its readiness probe (the gRPC health check). Helm waits
            // for the release's workloads in its install order and reports the first that is
            // not ready: the manager's Deployment (the scheduler and the clients wait for it).
            const failing = await buildStandinImages({ dir: join(dir, "failing-images"), failingProbe: ["manager"] });
            await importStandinImages(world.kubelet.containerdSocket, failing);
            try {
                project.writeConfig({
                    ...localConfig({ "dragonfly-cce:releaseTimeoutSeconds": 60 }),
                    "dragonfly-cce:ssh": project.readConfig()["dragonfly-cce:ssh"],
                });
                await setKnownHosts();
                // Helm's wait log reaches only the provider's own log (verbosity 6), which the CLI
                // prints with --logflow --logtostderr (docs/engine.md).
                const r = await project.pulumi(["up", "--yes", "--stack", STACK, "--logflow", "--logtostderr", "-v=6"]);
                expect(r.status).not.toBe(0);
                expect(r.stdout).toMatch(
                    /kubernetes:helm.sh\/v3:Release dragonfly-release \*\*creating failed\*\* error: release dragonfly failed, and has been uninstalled due to atomic being set: context deadline exceeded/,
                );
                const waits = [
                    ...(r.stdout + r.stderr).matchAll(/\[DEBUG\] (\w+) is not ready: ([\w-]+\/[\w-]+)\./g),
                ].map((m) => `${m[1]} ${m[2]}`);
                // Until the deadline, the unready workload Helm names is the manager's Deployment.
                expect(waits.length).toBeGreaterThan(0);
                expect(waits[waits.length - 1]).toBe("Deployment dragonfly-system/dragonfly-manager");
                // Rolled back: no release in any state, no workload left.
                expect(JSON.parse((await helm(["list", "-A", "--all", "-o", "json"])).stdout)).toEqual([]);
                for (const kind of ["deployments", "statefulsets", "daemonsets"]) {
                    const list = await get(`/apis/apps/v1/namespaces/${NS}/${kind}`);
                    expect({ kind, items: list?.items }).toEqual({ kind, items: [] });
                }
            } finally {
                await importStandinImages(world.kubelet.containerdSocket, world.images);
            }
        }, 600_000);
    },
);
