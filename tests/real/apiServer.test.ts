/**
 * A real kube-apiserver (v1.33.13, with kine as its store; both built by scripts/tools.sh) accepts
 * every object of every scenario with strict field validation: the chart's rendered objects, the
 * Namespace and both Services the stack adds. A broken object is rejected, so the check can fail.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

import { StackConfig } from "../../lib/config";
import { describePrivileged } from "../helpers/privileged";
import { ApiServer, CreateResult } from "../helpers/kube/apiServer";
import { KubeObject, renderRelease, tempDir } from "../helpers/kube/helm";
import { scenarios } from "./scenarios";

/** Listens on `port` on all interfaces; undefined when something else already does. */
function holdPort(port: number): Promise<net.Server | undefined> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(undefined));
        srv.listen(port, () => resolve(srv));
    });
}

/** The TCP addresses process `pid` listens on (`ss -ltnp`), sorted. */
function listeningOf(pid: number): string[] {
    const out = execFileSync("ss", ["-Hltnp"], { encoding: "utf8" });
    return out
        .split("\n")
        .filter((l) => l.includes(`pid=${pid},`))
        .map((l) => l.trim().split(/\s+/)[3])
        .sort();
}

/** Kinds created first, so that what refers to them exists (the order Helm installs in). */
const FIRST = ["Namespace", "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap"];

function order(objects: KubeObject[]): KubeObject[] {
    const rank = (o: KubeObject) => (FIRST.includes(o.kind) ? FIRST.indexOf(o.kind) : FIRST.length);
    return [...objects].sort((a, b) => rank(a) - rank(b));
}

/** The scenario in a namespace of its own, so one API server takes every scenario. */
function inOwnNamespace(cfg: StackConfig, i: number): StackConfig {
    return { ...cfg, core: { ...cfg.core, namespace: `s${i}-${cfg.core.namespace}`.slice(0, 63) } };
}

describePrivileged(
    "a real Kubernetes API server accepts every object the stack applies",
    { tools: ["kube-apiserver", "kine", "helm"], commands: ["openssl", "ss"] },
    () => {
        const work = tempDir("dfcce-api-");
        const server = new ApiServer(path.join(work, "apiserver"));
        const results: CreateResult[] = [];

        beforeAll(async () => {
            // Port 8080 taken while the server starts (kine's default metrics port, on all
            // interfaces): the store must not need it. Released at once, so that suites of other
            // checkouts on this machine are not held up.
            const taken = await holdPort(8080);
            try {
                await server.start();
            } finally {
                taken?.close();
            }
        }, 150_000);

        afterAll(async () => {
            await server.stop();
            const accepted = results.filter((r) => r.status === 201).length;
            process.stdout.write(
                `kube-apiserver: ready in ${server.startSeconds.toFixed(1)} s; accepted ${accepted} of ${results.length} objects\n`,
            );
            fs.rmSync(work, { recursive: true, force: true });
        }, 30_000);

        test("kine and kube-apiserver listen on their loopback ports only (no fixed port such as :8080)", () => {
            const [kine, apiserver] = server.runningPids();
            expect(listeningOf(kine)).toEqual([`127.0.0.1:${server.storePort}`]);
            expect(listeningOf(apiserver)).toEqual([`127.0.0.1:${server.port}`]);
        });

        test("the server reports the pinned Kubernetes version", async () => {
            const r = await server.request("GET", "/version");
            expect(r.status).toBe(200);
            expect(r.body.gitVersion).toBe("v1.33.13");
        });

        test.each(scenarios().map((s, i) => [s.name, i] as const))(
            "%s: every object is created, none rejected",
            async (name, i) => {
                const s = scenarios()[i];
                const r = renderRelease(inOwnNamespace(s.cfg, i), work, i + 1);
                const objects = order([
                    ...r.stackObjects,
                    ...r.chartObjects.map((o) => ({
                        ...o,
                        metadata: { ...o.metadata, namespace: o.metadata.namespace ?? r.cfg.core.namespace },
                    })),
                ]);
                const mine: CreateResult[] = [];
                for (const o of objects) {
                    mine.push(await server.create(o));
                }
                results.push(...mine);
                const rejected = mine.filter((x) => x.status !== 201);
                expect({ scenario: name, rejected }).toEqual({ scenario: name, rejected: [] });
                // Everything was sent: the chart's objects plus the Namespace, two Services and,
                // with proxy.ca, its Secret.
                expect(mine.length).toBe(r.chartObjects.length + 3 + (r.cfg.core.proxy.ca === undefined ? 0 : 1));
                expect(mine.map((x) => x.object)).toEqual(
                    expect.arrayContaining([
                        `Namespace/${r.cfg.core.namespace}`,
                        expect.stringMatching(/^DaemonSet\/.*-client$/),
                        expect.stringMatching(/^Service\/.*-client-proxy$/),
                        expect.stringMatching(/^Service\/.*-manager-console$/),
                    ]),
                );
            },
            60_000,
        );

        test("the proxy Service keeps its CCE ELB annotations and gets the configured NodePort on the console", async () => {
            const dev = scenarios().findIndex((s) => s.name === "Pulumi.dev.yaml");
            const ns = inOwnNamespace(scenarios()[dev].cfg, dev).core.namespace;
            const proxy = await server.request("GET", `/api/v1/namespaces/${ns}/services/dragonfly-client-proxy`);
            expect(proxy.status).toBe(200);
            const meta = proxy.body.metadata as { annotations: Record<string, string> };
            expect(meta.annotations["kubernetes.io/elb.class"]).toBe("union");
            expect(JSON.parse(meta.annotations["kubernetes.io/elb.autocreate"])).toEqual({ type: "inner" });
            const spec = proxy.body.spec as {
                type: string;
                externalTrafficPolicy: string;
                loadBalancerSourceRanges: string[];
            };
            expect(spec.type).toBe("LoadBalancer");
            expect(spec.externalTrafficPolicy).toBe("Local");
            expect(spec.loadBalancerSourceRanges).toEqual(["192.168.0.0/16"]);
            const consoleSvc = await server.request(
                "GET",
                `/api/v1/namespaces/${ns}/services/dragonfly-manager-console`,
            );
            expect((consoleSvc.body.spec as { ports: Array<{ nodePort: number }> }).ports[0].nodePort).toBe(30080);
        });

        test("the check can fail: an unknown field and a bad port are rejected", async () => {
            const base: KubeObject = {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "broken", namespace: "s0-dragonfly-system" },
                spec: { type: "ClusterIP", selector: { app: "x" }, ports: [{ port: 80, targetPort: 80 }] },
            };
            const unknownField = await server.create({
                ...base,
                metadata: { ...base.metadata, name: "unknown-field" },
                spec: { ...(base.spec as object), selectr: { app: "x" } },
            });
            expect(unknownField.status).toBe(400);
            expect(unknownField.message).toMatch(/unknown field "spec.selectr"/);
            const badPort = await server.create({
                ...base,
                metadata: { ...base.metadata, name: "bad-port" },
                spec: { ...(base.spec as object), ports: [{ port: 70000, targetPort: 80 }] },
            });
            expect(badPort.status).toBe(422);
            expect(badPort.message).toMatch(/spec.ports\[0\].port/);
        });

        test("the built-in view role reads no generated secret: none in a ConfigMap, no Secret at all", async () => {
            const i = scenarios().findIndex((s) => s.name === "proxy.basicAuth");
            // The same render (same seed) as the scenario's objects above.
            const r = renderRelease(inOwnNamespace(scenarios()[i].cfg, i), work, i + 1);
            const ns = r.cfg.core.namespace;
            const binding = await server.create({
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "RoleBinding",
                metadata: { name: "viewer", namespace: ns },
                // `view` is aggregated from this role by kube-controller-manager, which the suite
                // does not run: the same rules, bound directly.
                roleRef: {
                    apiGroup: "rbac.authorization.k8s.io",
                    kind: "ClusterRole",
                    name: "system:aggregate-to-view",
                },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "viewer" }],
            } as unknown as KubeObject);
            expect(binding.status).toBe(201);
            const asViewer = { "Impersonate-User": "viewer" };
            // The RBAC authorizer sees a new binding once its informer has it (a moment, longer
            // on a busy machine): until then the viewer is refused.
            let configMaps = await server.request("GET", `/api/v1/namespaces/${ns}/configmaps`, undefined, asViewer);
            for (let tries = 0; configMaps.status === 403 && tries < 50; tries++) {
                await new Promise((r) => setTimeout(r, 200));
                configMaps = await server.request("GET", `/api/v1/namespaces/${ns}/configmaps`, undefined, asViewer);
            }
            expect(configMaps.status).toBe(200);
            expect((configMaps.body.items as unknown[]).length).toBeGreaterThan(0);
            const text = JSON.stringify(configMaps.body);
            expect(Object.keys(r.secrets)).toEqual(
                expect.arrayContaining([
                    "manager.config.auth.jwt.key",
                    "client.config.proxy.server.basicAuth.password",
                ]),
            );
            for (const [where, value] of Object.entries(r.secrets)) {
                expect({ where, readableByView: text.includes(value) }).toEqual({ where, readableByView: false });
            }
            const secrets = await server.request("GET", `/api/v1/namespaces/${ns}/secrets`, undefined, asViewer);
            expect(secrets.status).toBe(403);
            // The components' config files are in Secrets, stored as data.
            const file = async (name: string, key: string) => {
                const s = await server.request("GET", `/api/v1/namespaces/${ns}/secrets/${name}`);
                expect(s.status).toBe(200);
                return Buffer.from((s.body.data as Record<string, string>)[key], "base64").toString("utf8");
            };
            const manager = await file("dragonfly-manager", "manager.yaml");
            expect(manager).toContain(r.secrets["manager.config.auth.jwt.key"]);
            expect(manager).toContain(r.secrets["mysql.auth.password"]);
            expect(await file("dragonfly-scheduler", "scheduler.yaml")).toContain(r.secrets["redis.auth.password"]);
            expect(await file("dragonfly-client", "dfdaemon.yaml")).toContain(
                r.secrets["client.config.proxy.server.basicAuth.password"],
            );
        });

        // Last: the server is stopped here, and afterAll's stop() is then a no-op.
        test("stop() ends kine and kube-apiserver by their pids and removes the directory", async () => {
            const pids = server.runningPids();
            expect(pids).toHaveLength(2);
            await server.stop();
            expect(server.runningPids()).toEqual([]);
            for (const pid of pids) {
                expect(() => process.kill(pid, 0)).toThrow();
            }
            expect(fs.existsSync(server.dir)).toBe(false);
        }, 30_000);
    },
);
