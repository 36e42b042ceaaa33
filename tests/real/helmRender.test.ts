/**
 * Real Helm (v3.22.0, built by scripts/tools.sh) renders and lints the pinned chart 1.7.4 with the
 * values the stack itself generates, for every scenario; the rendered objects are checked for
 * placement, storage, public default credentials and the selectors of the two Services the stack
 * adds.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments, stringify } from "yaml";

import { chartObjectNames, podSelector, RENDERED_CONFIG_KEYS } from "../../lib/cluster/helmValues";
import { describePrivileged } from "../helpers/privileged";
import {
    CHART_DIR,
    helm,
    KUBE_VERSION,
    KubeObject,
    lintRelease,
    renderRelease,
    RenderedRelease,
    tempDir,
} from "../helpers/kube/helm";
import { scenarios } from "./scenarios";

const POD_BEARING = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"]);

interface PodSpec {
    nodeSelector?: Record<string, string>;
    tolerations?: Array<Record<string, unknown>>;
    hostNetwork?: boolean;
    imagePullSecrets?: Array<{ name: string }>;
    containers: Array<{
        name: string;
        image: string;
        ports?: Array<{ containerPort: number }>;
        volumeMounts?: Array<Record<string, unknown>>;
    }>;
    initContainers?: Array<{ name: string; image: string }>;
    volumes?: Array<Record<string, unknown> & { name: string }>;
}

function podTemplate(o: KubeObject): {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    spec: PodSpec;
} {
    const spec = o.spec as Record<string, unknown>;
    if (o.kind === "Pod") {
        return { labels: o.metadata.labels ?? {}, annotations: {}, spec: spec as unknown as PodSpec };
    }
    const tpl = (
        o.kind === "CronJob"
            ? ((spec.jobTemplate as Record<string, unknown>).spec as Record<string, unknown>).template
            : spec.template
    ) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    return { labels: tpl.metadata?.labels ?? {}, annotations: tpl.metadata?.annotations ?? {}, spec: tpl.spec };
}

function workloads(r: RenderedRelease): KubeObject[] {
    return r.chartObjects.filter((o) => POD_BEARING.has(o.kind));
}

function find(r: RenderedRelease, kind: string, name: string): KubeObject {
    const o = r.chartObjects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) {
        throw new Error(
            `no ${kind}/${name} in the rendered chart; it has: ${r.chartObjects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`,
        );
    }
    return o;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The chart's public default credentials: read from the chart's own values files. */
function chartDefaultCredentials(): Array<{ where: string; value: string }> {
    const values = parse(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, any>;
    const creds = [
        { where: "mysql.auth.rootPassword", value: values.mysql.auth.rootPassword as string },
        { where: "mysql.auth.password", value: values.mysql.auth.password as string },
        { where: "redis.auth.password", value: values.redis.auth.password as string },
        { where: "manager.config.auth.jwt.key", value: values.manager.config.auth.jwt.key as string },
    ];
    // The client's proxy basic-auth example (commented in values.yaml, the chart's documented default).
    const commented = /#\s*password:\s*"([^"]+)"/.exec(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8"));
    if (commented) {
        creds.push({ where: "client.config.proxy.server.basicAuth.password (example)", value: commented[1] });
    }
    // Bitnami subcharts: any non-empty password default in their values.
    for (const sub of ["mysql", "redis"]) {
        const text = fs.readFileSync(path.join(CHART_DIR, "charts", sub, "values.yaml"), "utf8");
        for (const m of text.matchAll(/^\s*(\w*[pP]assword):\s*"?([^"\s#]+)"?\s*$/gm)) {
            creds.push({ where: `${sub} subchart ${m[1]}`, value: m[2] });
        }
    }
    return creds;
}

const SECRET_KEY = /(pass(word)?|passwd|secret|token|jwt|^key$|auth)/i;

/** Every `key: value` pair under secret-looking keys: parsed objects, and YAML/INI text in data. */
function secretLookingValues(objects: KubeObject[]): Array<{ at: string; value: string }> {
    const out: Array<{ at: string; value: string }> = [];
    const walk = (v: unknown, at: string, key: string) => {
        if (typeof v === "string") {
            if (SECRET_KEY.test(key)) {
                out.push({ at, value: v });
            }
            for (const m of v.matchAll(/^\s*([\w.-]+)\s*[:=]\s*["']?([^"'\s]+)["']?\s*$/gm)) {
                if (SECRET_KEY.test(m[1])) {
                    out.push({ at: `${at} (text: ${m[1]})`, value: m[2] });
                }
            }
        } else if (Array.isArray(v)) {
            v.forEach((c, i) => walk(c, `${at}[${i}]`, key));
        } else if (typeof v === "object" && v !== null) {
            const o = v as Record<string, unknown>;
            // env entries: { name: X_PASSWORD, value: ... }
            if (typeof o.name === "string" && typeof o.value === "string" && SECRET_KEY.test(o.name)) {
                out.push({ at: `${at} (env ${o.name})`, value: o.value });
            }
            for (const [k, c] of Object.entries(o)) {
                walk(c, `${at}.${k}`, k);
            }
        }
    };
    for (const o of objects) {
        const name = `${o.kind}/${o.metadata.name}`;
        walk(o, name, "");
        if (o.kind === "Secret" && typeof o.data === "object" && o.data !== null) {
            for (const [k, b64] of Object.entries(o.data as Record<string, string>)) {
                out.push({ at: `${name}.data.${k} (decoded)`, value: Buffer.from(b64, "base64").toString("utf8") });
            }
        }
    }
    return out;
}

describePrivileged("real Helm renders the pinned chart with the stack's values", { tools: ["helm"] }, () => {
    const work = tempDir("dfcce-helm-");
    const all = scenarios();
    const rendered = new Map<string, RenderedRelease>();
    const get = (name: string): RenderedRelease => {
        let r = rendered.get(name);
        if (!r) {
            const s = all.find((x) => x.name === name);
            if (!s) {
                throw new Error(`no scenario ${name}`);
            }
            r = renderRelease(s.cfg, work);
            rendered.set(name, r);
        }
        return r;
    };
    afterAll(() => {
        const times = [...rendered.values()].map((r) => r.renderSeconds);
        if (times.length > 0) {
            process.stdout.write(
                `helm template: ${times.length} renders, ${Math.min(...times).toFixed(2)}-${Math.max(...times).toFixed(2)} s each\n`,
            );
        }
        fs.rmSync(work, { recursive: true, force: true });
    });

    describe.each(all.map((s) => [s.name]))("%s", (name) => {
        test("helm lint passes with the stack's values", () => {
            const s = all.find((x) => x.name === name);
            const out = lintRelease(s!.cfg, work);
            expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        });

        test("every pod-bearing object is placed on the pool, with the pool's tolerations", () => {
            const r = get(name);
            const core = r.cfg.core;
            const full = core.releaseName.includes("dragonfly") ? core.releaseName : `${core.releaseName}-dragonfly`;
            const expected = [
                `DaemonSet/${full}-client`,
                `Deployment/${full}-manager`,
                `StatefulSet/${full}-scheduler`,
                `StatefulSet/${full}-seed-client`,
                `StatefulSet/${core.releaseName}-mysql`,
                `StatefulSet/${core.releaseName}-redis-master`,
            ];
            const names = workloads(r).map((o) => `${o.kind}/${o.metadata.name}`);
            expect(names).toEqual(expect.arrayContaining(expected));
            const standalone = (core.helmValues.redis as { architecture?: string } | undefined)?.architecture;
            if (standalone !== "standalone") {
                expect(names).toContain(`StatefulSet/${core.releaseName}-redis-replicas`);
            }
            for (const o of workloads(r)) {
                const { spec } = podTemplate(o);
                const at = `${o.kind}/${o.metadata.name}`;
                expect({ at, nodeSelector: spec.nodeSelector }).toEqual({
                    at,
                    nodeSelector: { [core.nodePoolLabelKey]: core.nodePool },
                });
                for (const t of core.nodePoolTolerations) {
                    expect({ at, tolerations: spec.tolerations ?? [] }).toEqual({
                        at,
                        tolerations: expect.arrayContaining([expect.objectContaining({ ...t })]),
                    });
                }
            }
        });

        test("every volume claim uses the configured storage class", () => {
            const r = get(name);
            const claims: Array<{ at: string; storageClassName?: string }> = [];
            for (const o of r.chartObjects) {
                const spec = o.spec as Record<string, unknown> | undefined;
                for (const vct of (spec?.volumeClaimTemplates ?? []) as Array<{
                    metadata: { name: string };
                    spec: { storageClassName?: string };
                }>) {
                    claims.push({
                        at: `${o.metadata.name}/${vct.metadata.name}`,
                        storageClassName: vct.spec.storageClassName,
                    });
                }
                if (o.kind === "PersistentVolumeClaim") {
                    claims.push({ at: o.metadata.name, storageClassName: spec?.storageClassName as string });
                }
            }
            // seed client, MySQL, Redis master (+ replicas): at least three claims.
            expect(claims.length).toBeGreaterThanOrEqual(3);
            for (const c of claims) {
                expect(c).toEqual({ at: c.at, storageClassName: r.cfg.core.storageClass });
            }
        });

        test("none of the chart's public default credentials is rendered, plain or base64", () => {
            const r = get(name);
            const defaults = chartDefaultCredentials();
            expect(defaults.map((d) => d.value)).toEqual(
                expect.arrayContaining(["dragonfly-root", "dragonfly", "ZHJhZ29uZmx5Cg=="]),
            );
            const found = secretLookingValues([...r.chartObjects, ...r.stackObjects]);
            for (const d of defaults) {
                for (const form of [d.value, `${d.value}\n`]) {
                    const b64 = Buffer.from(form).toString("base64");
                    expect({ default: d.where, base64InOutput: r.text.includes(b64) }).toEqual({
                        default: d.where,
                        base64InOutput: false,
                    });
                }
                const hits = found.filter((f) => f.value === d.value || f.value === `${d.value}\n`);
                expect({ default: d.where, hits }).toEqual({ default: d.where, hits: [] });
            }
            // The jwt key default is itself base64 text: never anywhere.
            expect(r.text).not.toContain("ZHJhZ29uZmx5Cg==");
            // The check sees credentials: the stack's generated ones are where the defaults were.
            const values = found.map((f) => f.value);
            expect(values).toEqual(
                expect.arrayContaining([
                    r.secrets["mysql.auth.rootPassword"],
                    r.secrets["mysql.auth.password"],
                    r.secrets["redis.auth.password"],
                ]),
            );
            expect(r.text).toContain(Buffer.from(r.secrets["mysql.auth.password"]).toString("base64"));
        });

        test("no generated secret is in a ConfigMap; each component reads it from a Secret it mounts", () => {
            const r = get(name);
            expect(Object.keys(r.secrets).length).toBeGreaterThanOrEqual(4);
            // Anyone with the built-in `view` role reads ConfigMaps (not Secrets).
            for (const cm of r.chartObjects.filter((o) => o.kind === "ConfigMap")) {
                const text = JSON.stringify(cm);
                for (const [where, value] of Object.entries(r.secrets)) {
                    const b64 = Buffer.from(value).toString("base64");
                    expect({
                        configMap: cm.metadata.name,
                        where,
                        found: text.includes(value) || text.includes(b64),
                    }).toEqual({
                        configMap: cm.metadata.name,
                        where,
                        found: false,
                    });
                }
            }
            // The config file each component mounts at its config volume, from whichever object.
            const names = chartObjectNames(r.cfg.core.releaseName);
            const configFile = (kind: string, workload: string, file: string): Record<string, any> => {
                const volume = (podTemplate(find(r, kind, workload)).spec.volumes ?? []).find(
                    (v) => v.name === "config",
                );
                const source = volume?.secret as { secretName: string; items?: Array<{ key: string; path: string }> };
                expect({ workload, configMap: volume?.configMap, secret: source?.secretName }).toEqual({
                    workload,
                    configMap: undefined,
                    secret: workload,
                });
                expect(source.items ?? [{ key: file, path: file }]).toContainEqual({ key: file, path: file });
                const secret = find(r, "Secret", source.secretName);
                return parse((secret.stringData as Record<string, string>)[file]) as Record<string, any>;
            };
            const manager = configFile("Deployment", names.manager, "manager.yaml");
            expect(manager.auth.jwt.key).toBe(r.secrets["manager.config.auth.jwt.key"]);
            expect(manager.database.mysql.password).toBe(r.secrets["mysql.auth.password"]);
            expect(manager.database.redis.password).toBe(r.secrets["redis.auth.password"]);
            const scheduler = configFile("StatefulSet", names.scheduler, "scheduler.yaml");
            expect(scheduler.database.redis.password).toBe(r.secrets["redis.auth.password"]);
            expect(scheduler.job.redis.password).toBe(r.secrets["redis.auth.password"]);
            const client = configFile("DaemonSet", names.client, "dfdaemon.yaml");
            expect(client.proxy.server.port).toBe(r.cfg.core.proxy.port);
            expect(client.proxy.server.basicAuth?.password).toBe(
                r.secrets["client.config.proxy.server.basicAuth.password"],
            );
            expect(configFile("StatefulSet", names.seedClient, "dfdaemon.yaml").seedPeer).toBeDefined();
        });

        test("the proxy LoadBalancer selects exactly the client pods, on the port the client listens on", () => {
            const r = get(name);
            const core = r.cfg.core;
            const svc = r.stackObjects.find((o) => o.kind === "Service" && (o.spec as any).type === "LoadBalancer")!;
            const spec = svc.spec as {
                selector: Record<string, string>;
                ports: Array<{ port: number; targetPort: number }>;
            };
            const client = workloads(r).filter((o) => o.kind === "DaemonSet");
            expect(client).toHaveLength(1);
            const tpl = podTemplate(client[0]);
            expect(matches(spec.selector, tpl.labels)).toBe(true);
            const others = workloads(r).filter((o) => o !== client[0] && matches(spec.selector, podTemplate(o).labels));
            expect(others.map((o) => o.metadata.name)).toEqual([]);
            // The client's own config: the port its proxy listens on (hostNetwork: on the node).
            // (a Secret of the config's name: the post-renderer moves it out of its ConfigMap)
            const cm = find(r, "Secret", client[0].metadata.name);
            const dfdaemon = parse((cm.stringData as Record<string, string>)["dfdaemon.yaml"]) as {
                proxy: { server: { port: number; basicAuth?: { username: string; password: string } } };
            };
            expect(tpl.spec.hostNetwork).toBe(true);
            expect(dfdaemon.proxy.server.port).toBe(core.proxy.port);
            expect(spec.ports).toEqual([
                expect.objectContaining({ port: core.proxy.port, targetPort: core.proxy.port }),
            ]);
            // proxy.ca: the client signs with the CA from the stack's Secret, mounted read-only.
            const caVolume = (tpl.spec.volumes ?? []).find((v) => v.name === "dragonfly-cce-proxy-ca");
            const caMounts = tpl.spec.containers.flatMap((c) =>
                (c.volumeMounts ?? []).filter((m) => m.name === "dragonfly-cce-proxy-ca"),
            );
            if (core.proxy.ca) {
                const secret = r.stackObjects.find((o) => o.kind === "Secret")!;
                expect(caVolume).toEqual({
                    name: "dragonfly-cce-proxy-ca",
                    secret: { secretName: secret.metadata.name, defaultMode: 0o400 },
                });
                expect(caMounts).toEqual([
                    { name: "dragonfly-cce-proxy-ca", mountPath: "/etc/dragonfly-cce/proxy-ca", readOnly: true },
                ]);
                expect(Object.keys((secret as any).stringData).sort()).toEqual(["ca.crt", "ca.key"]);
                expect((dfdaemon.proxy.server as any).caCert).toBe("/etc/dragonfly-cce/proxy-ca/ca.crt");
                expect((dfdaemon.proxy.server as any).caKey).toBe("/etc/dragonfly-cce/proxy-ca/ca.key");
                expect(tpl.annotations["dragonfly-cce/proxy-ca-sha256"]).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
                // The chart's own volumes are still there.
                expect((tpl.spec.volumes ?? []).map((v) => v.name)).toEqual(
                    expect.arrayContaining(["storage", "logs"]),
                );
            } else {
                expect(caVolume).toBeUndefined();
                expect(caMounts).toEqual([]);
            }
            if (core.proxy.basicAuth) {
                expect(dfdaemon.proxy.server.basicAuth).toEqual({
                    username: "dragonfly",
                    password: r.secrets["client.config.proxy.server.basicAuth.password"],
                });
            } else {
                expect(dfdaemon.proxy.server.basicAuth).toBeUndefined();
            }
        });

        test("the console NodePort selects exactly the manager pods, on a manager container port", () => {
            const r = get(name);
            const svc = r.stackObjects.find((o) => o.kind === "Service" && (o.spec as any).type === "NodePort")!;
            const spec = svc.spec as {
                selector: Record<string, string>;
                ports: Array<{ port: number; targetPort: number }>;
            };
            expect(spec.selector).toEqual(podSelector(r.cfg.core.releaseName, "manager"));
            const selected = workloads(r).filter((o) => matches(spec.selector, podTemplate(o).labels));
            expect(selected.map((o) => o.kind)).toEqual(["Deployment"]);
            const ports = podTemplate(selected[0]).spec.containers.flatMap((c) =>
                (c.ports ?? []).map((p) => p.containerPort),
            );
            expect(ports).toContain(8080);
            expect(spec.ports).toEqual([expect.objectContaining({ port: 8080, targetPort: 8080 })]);
        });
    });

    test("imageRegistry and imagePullSecrets reach every container and pod", () => {
        const r = get("imageRegistry and imagePullSecrets");
        for (const o of workloads(r)) {
            const { spec } = podTemplate(o);
            for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
                expect({ at: `${o.metadata.name}/${c.name}`, image: c.image }).toEqual({
                    at: `${o.metadata.name}/${c.name}`,
                    image: expect.stringMatching(/^swr\.cn-north-4\.myhuaweicloud\.com\/dragonfly\//),
                });
            }
            expect({ at: o.metadata.name, secrets: spec.imagePullSecrets }).toEqual({
                at: o.metadata.name,
                secrets: expect.arrayContaining([{ name: "default-secret" }, { name: "swr-extra" }]),
            });
        }
    });

    test("helmValues overrides reach the rendered objects", () => {
        const r = get("helmValues overrides");
        expect((find(r, "Deployment", "dragonfly-manager").spec as { replicas: number }).replicas).toBe(2);
        expect((find(r, "StatefulSet", "dragonfly-scheduler").spec as { replicas: number }).replicas).toBe(2);
        expect(r.chartObjects.some((o) => o.metadata.name === "dragonfly-redis-replicas")).toBe(false);
        // A deep merge: the override kept the stack's proxy settings in the same client config.
        const cm = parse(
            (find(r, "Secret", "dragonfly-client").stringData as Record<string, string>)["dfdaemon.yaml"],
        ) as {
            proxy: { prefetch: boolean; server: { port: number } };
        };
        expect(cm.proxy.prefetch).toBe(false);
        expect(cm.proxy.server.port).toBe(4001);
    });

    test("the checks catch the chart's own defaults (rendered without the stack's values)", () => {
        const text = helm(
            ["template", "dragonfly", CHART_DIR, "--kube-version", KUBE_VERSION],
            path.join(work, "helm-home"),
        );
        const objects = parseAllDocuments(text)
            .map((d) => d.toJS() as KubeObject | null)
            .filter((o): o is KubeObject => o !== null && typeof o.kind === "string");
        const found = secretLookingValues(objects).map((f) => f.value);
        expect(found).toEqual(expect.arrayContaining(["dragonfly", "dragonfly-root"]));
        expect(text).toContain(Buffer.from("dragonfly-root").toString("base64"));
        const unplaced = objects.filter(
            (o) => POD_BEARING.has(o.kind) && podTemplate(o).spec.nodeSelector === undefined,
        );
        expect(unplaced.length).toBeGreaterThan(0);
    });

    test("RENDERED_CONFIG_KEYS is exactly what chart 1.7.4 renders of client and seedClient config", () => {
        // Raw helm values (not through buildHelmValues, whose check would refuse the unknown key).
        const marker = "dfcce-marker";
        const raw: Record<string, unknown> = {};
        for (const [component, sections] of Object.entries(RENDERED_CONFIG_KEYS)) {
            const config: Record<string, unknown> = { unknownTopLevel: { [marker]: "dropped" } };
            for (const [section, keys] of Object.entries(sections)) {
                config[section] =
                    keys === "*"
                        ? { [marker]: `${component}.${section}` }
                        : {
                              ...Object.fromEntries(keys.map((k) => [k, `${marker}-${component}.${section}.${k}`])),
                              other: "dropped",
                          };
            }
            raw[component] = { config };
        }
        const valuesFile = path.join(work, "rendered-config-keys.yaml");
        fs.writeFileSync(valuesFile, stringify(raw));
        const text = helm(
            ["template", "dragonfly", CHART_DIR, "--kube-version", KUBE_VERSION, "-f", valuesFile],
            path.join(work, "helm-home"),
        );
        const objects = parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null);
        const config = (name: string) => {
            const cm = objects.find((o) => o?.kind === "ConfigMap" && o.metadata.name === name);
            return parse((cm!.data as Record<string, string>)["dfdaemon.yaml"]) as Record<
                string,
                Record<string, unknown>
            >;
        };
        for (const [component, cmName] of [
            ["client", "dragonfly-client"],
            ["seedClient", "dragonfly-seed-client"],
        ] as const) {
            const rendered = config(cmName);
            for (const [section, keys] of Object.entries(RENDERED_CONFIG_KEYS[component])) {
                if (keys === "*") {
                    expect({ component, section, value: rendered[section]?.[marker] }).toEqual({
                        component,
                        section,
                        value: `${component}.${section}`,
                    });
                } else {
                    for (const k of keys) {
                        expect(rendered[section]?.[k]).toBe(`${marker}-${component}.${section}.${k}`);
                    }
                    expect({ component, section, other: rendered[section]?.other }).toEqual({
                        component,
                        section,
                        other: undefined,
                    });
                }
            }
            // What the list leaves out, the chart drops: the reason the program refuses it.
            expect(rendered.unknownTopLevel).toBeUndefined();
            expect(Object.keys(rendered).sort()).toEqual(Object.keys(RENDERED_CONFIG_KEYS[component]).sort());
        }
    });

    test("a custom release name renames every object and the Services still match", () => {
        const r = get("custom release name and proxy port");
        const names = workloads(r).map((o) => o.metadata.name);
        expect(names.every((n) => n.startsWith("p2p-"))).toBe(true);
        expect(r.stackObjects.map((o) => o.metadata.name)).toEqual(
            expect.arrayContaining(["p2p-dragonfly-client-proxy", "p2p-dragonfly-manager-console"]),
        );
    });
});
