import { parseAllDocuments } from "yaml";

import { parseCoreConfig } from "../../lib/cluster/config";
import { postRender } from "../../lib/cluster/helmPostRender";
import {
    buildHelmValues,
    chartFullname,
    chartObjectNames,
    deepMerge,
    isSecretHelmValue,
    matchesValuePath,
    podSelector,
    PROXY_CA_ANNOTATION,
    ReleaseSecrets,
} from "../../lib/cluster/helmValues";
import { ConfigError } from "../../lib/config/validate";
import { testCertificates } from "../helpers/testCa";

const secrets: ReleaseSecrets<string> = {
    mysqlRootPassword: "S-root",
    mysqlPassword: "S-user",
    redisPassword: "S-redis",
    jwtKey: "S-jwt",
    proxyPassword: "S-proxy",
};

function values(raw: Record<string, unknown> = {}): any {
    return buildHelmValues(parseCoreConfig({ nodePool: "test-dragonfly-nodepool", ...raw }), secrets);
}

/** Every [path, value] leaf of a value tree. */
function leaves(v: any, path: string[] = []): Array<[string, unknown]> {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        return Object.entries(v).flatMap(([k, c]) => leaves(c, [...path, k]));
    }
    return [[path.join("."), v]];
}

/** The value roots of every workload the chart runs, bitnami subcharts included. */
function workloads(v: any): any[] {
    return [v.manager, v.scheduler, v.seedClient, v.client, v.mysql.primary, v.redis.master, v.redis.replica];
}

const SELECTOR = { "cce.cloud.com/cce-nodepool": "test-dragonfly-nodepool" };

describe("buildHelmValues", () => {
    test("every workload is placed on the node pool by its label, bitnami subcharts included", () => {
        const v = values();
        for (const w of workloads(v)) {
            expect(w.nodeSelector).toEqual(SELECTOR);
            expect(w.tolerations).toEqual([]);
        }
        // The trap: global.nodeSelector is applied unevenly by the chart; it is never set.
        expect(v.global.nodeSelector).toBeUndefined();
    });

    test("a custom label key and tolerations reach every workload", () => {
        const tol = [{ key: "dedicated", operator: "Equal", value: "dragonfly", effect: "NoSchedule" }];
        const v = values({ nodePoolLabelKey: "pool.example.com/name", nodePoolTolerations: tol });
        for (const w of workloads(v)) {
            expect(w.nodeSelector).toEqual({ "pool.example.com/name": "test-dragonfly-nodepool" });
            expect(w.tolerations).toEqual(tol);
        }
    });

    test("persistent volumes use the configured storage class", () => {
        expect(values().global.storageClass).toBe("csi-disk");
        expect(values({ storageClass: "csi-disk-topology" }).global.storageClass).toBe("csi-disk-topology");
        expect(values().seedClient.persistence.enable).toBe(true);
    });

    test("every public default secret is replaced", () => {
        const v = values();
        expect(v.mysql.auth.rootPassword).toBe("S-root");
        expect(v.mysql.auth.password).toBe("S-user");
        expect(v.redis.auth.password).toBe("S-redis");
        expect(v.redis.auth.enabled).toBe(true);
        expect(v.manager.config.auth.jwt.key).toBe("S-jwt");
        const all = leaves(v).map(([, x]) => x);
        for (const publicDefault of ["dragonfly", "dragonfly-root", "ZHJhZ29uZmx5Cg=="]) {
            expect(all).not.toContain(publicDefault);
        }
    });

    test("components are enabled explicitly (chart 1.7.5+ turns manager, mysql, redis off)", () => {
        const v = values();
        for (const c of [v.manager, v.scheduler, v.seedClient, v.client, v.mysql, v.redis]) {
            expect(c.enable).toBe(true);
        }
    });

    test("proxy port and optional basic auth go to the client's proxy server", () => {
        expect(values().client.config.proxy.server).toEqual({ port: 4001 });
        expect(values({ proxy: { port: 4011, basicAuth: true } }).client.config.proxy.server).toEqual({
            port: 4011,
            basicAuth: { username: "dragonfly", password: "S-proxy" },
        });
    });

    test("image registry and pull secrets go to global", () => {
        const v = values({
            imageRegistry: "swr.cn-north-4.myhuaweicloud.com/dragonfly",
            imagePullSecrets: ["default-secret"],
        });
        expect(v.global.imageRegistry).toBe("swr.cn-north-4.myhuaweicloud.com/dragonfly");
        expect(v.global.imagePullSecrets).toEqual([{ name: "default-secret" }]);
        expect(values().global.imageRegistry).toBeUndefined();
        expect(values().global.imagePullSecrets).toBeUndefined();
    });

    test("MySQL and Redis volumes go with their StatefulSets unless told otherwise", () => {
        const policy = { enabled: true, whenDeleted: "Delete", whenScaled: "Retain" };
        const v = values();
        expect(v.mysql.primary.persistentVolumeClaimRetentionPolicy).toEqual(policy);
        expect(v.redis.master.persistentVolumeClaimRetentionPolicy).toEqual(policy);
        expect(v.redis.replica.persistentVolumeClaimRetentionPolicy).toEqual(policy);
        const kept = values({ deleteVolumesOnUninstall: false });
        expect(kept.mysql.primary.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    });

    test("helmValues is deep-merged last: it can override and add, lists are replaced", () => {
        const v = values({
            helmValues: {
                manager: { replicas: 1, nodeSelector: { zone: "a" } },
                redis: { architecture: "standalone" },
                client: { tolerations: [{ operator: "Exists" }] },
            },
        });
        expect(v.manager.replicas).toBe(1);
        expect(v.manager.nodeSelector).toEqual({ ...SELECTOR, zone: "a" });
        expect(v.manager.config.auth.jwt.key).toBe("S-jwt");
        expect(v.redis.architecture).toBe("standalone");
        expect(v.redis.auth.password).toBe("S-redis");
        expect(v.client.tolerations).toEqual([{ operator: "Exists" }]);
    });

    test("helmValues may not rename objects or labels the stack selects", () => {
        for (const [hv, key] of [
            [{ fullnameOverride: "df" }, "helmValues.fullnameOverride"],
            [{ nameOverride: "df" }, "helmValues.nameOverride"],
            [{ client: { name: "peer" } }, "helmValues.client.name"],
            [{ manager: { fullnameOverride: "m" } }, "helmValues.manager.fullnameOverride"],
            [{ global: { nodeSelector: { a: "b" } } }, "helmValues.global.nodeSelector"],
        ] as const) {
            expect(() => values({ helmValues: hv })).toThrow(ConfigError);
            expect(() => values({ helmValues: hv })).toThrow(`dragonfly-cce:${key}`);
        }
    });

    test("the same config always gives identical values (no preview churn)", () => {
        const raw = { proxy: { basicAuth: true }, helmValues: { manager: { replicas: 2 } } };
        expect(JSON.stringify(values(raw))).toBe(JSON.stringify(values(raw)));
    });

    test("basic auth without a password is a programming error, not silently open", () => {
        const cfg = parseCoreConfig({ nodePool: "p", proxy: { basicAuth: true } });
        expect(() => buildHelmValues(cfg, { ...secrets, proxyPassword: undefined })).toThrow(/no proxy password/);
    });
});

describe("proxy.ca in the client pods", () => {
    const { ca } = testCertificates();
    const withCa = (raw: Record<string, unknown> = {}) =>
        values({ ...raw, proxy: { ...(raw.proxy as object), ca: { certificate: ca.certificate, key: ca.key } } });

    test("the proxy signs with the mounted CA; the key is in no value", () => {
        const v = withCa({ releaseName: "p2p" });
        expect(v.client.config.proxy.server).toEqual({
            port: 4001,
            caCert: "/etc/dragonfly-cce/proxy-ca/ca.crt",
            caKey: "/etc/dragonfly-cce/proxy-ca/ca.key",
        });
        expect(v.client.extraVolumes).toEqual([
            { name: "storage", emptyDir: {} },
            { name: "logs", emptyDir: {} },
            { name: "dragonfly-cce-proxy-ca", secret: { secretName: "p2p-dragonfly-proxy-ca", defaultMode: 0o400 } },
        ]);
        expect(v.client.extraVolumeMounts).toEqual([
            { name: "storage", mountPath: "/var/lib/dragonfly/" },
            { name: "logs", mountPath: "/var/log/dragonfly/dfdaemon/" },
            { name: "dragonfly-cce-proxy-ca", mountPath: "/etc/dragonfly-cce/proxy-ca", readOnly: true },
        ]);
        const keyLine = ca.key.split("\n")[1];
        expect(JSON.stringify(v)).not.toContain(keyLine);
        // Only the client: the seed client intercepts nothing.
        expect(v.seedClient.extraVolumes).toBeUndefined();
    });

    test("a new CA changes the client pods' annotation (so they restart with it); no CA, no annotation", () => {
        const { otherCa } = testCertificates();
        const a = withCa().client.podAnnotations[PROXY_CA_ANNOTATION];
        expect(a).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        const b = values({ proxy: { ca: { certificate: otherCa.certificate, key: otherCa.key } } }).client
            .podAnnotations[PROXY_CA_ANNOTATION];
        expect(b).not.toBe(a);
        expect(values().client.podAnnotations).toBeUndefined();
        expect(values().client.extraVolumes).toBeUndefined();
    });

    test("lists helmValues gives for the client's volumes get the CA's entry too", () => {
        const mine = { name: "cache", hostPath: { path: "/mnt/dragonfly" } };
        const v = withCa({ helmValues: { client: { extraVolumes: [mine], extraVolumeMounts: [] } } });
        expect(v.client.extraVolumes.map((x: { name: string }) => x.name)).toEqual(["cache", "dragonfly-cce-proxy-ca"]);
        expect(v.client.extraVolumeMounts.map((x: { name: string }) => x.name)).toEqual(["dragonfly-cce-proxy-ca"]);
    });
});

describe("chart object names", () => {
    test("follow the chart's fullname rule", () => {
        expect(chartFullname("dragonfly")).toBe("dragonfly");
        expect(chartFullname("my-dragonfly")).toBe("my-dragonfly");
        expect(chartFullname("p2p")).toBe("p2p-dragonfly");
        expect(chartObjectNames("dragonfly")).toEqual({
            fullname: "dragonfly",
            client: "dragonfly-client",
            seedClient: "dragonfly-seed-client",
            manager: "dragonfly-manager",
            scheduler: "dragonfly-scheduler",
        });
        expect(podSelector("dragonfly", "client")).toEqual({ app: "dragonfly", component: "client" });
        expect(podSelector("p2p", "manager")).toEqual({ app: "p2p-dragonfly", component: "manager" });
    });
});

describe("deepMerge", () => {
    test("keeps non-plain objects (e.g. Pulumi Outputs) as leaves", () => {
        class Box {
            constructor(public v: number) {}
        }
        const b = new Box(1);
        const merged = deepMerge({ a: { b } }, { a: { c: 2 } }) as any;
        expect(merged.a.b).toBe(b);
        expect(merged.a.c).toBe(2);
        expect(deepMerge({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    });
});

describe("helmValues under <component>.config: only what the pinned chart renders", () => {
    test("a section the chart renders is merged", () => {
        const v = values({
            helmValues: { client: { config: { proxy: { prefetch: false }, manager: { addr: "http://m:65003" } } } },
        });
        expect(((v.client as any).config.proxy as any).prefetch).toBe(false);
    });

    test.each([
        ["client", "verbose"],
        ["seedClient", "console"],
    ])("an unknown %s.config key is refused at preview, naming the key and the sections", (component, key) => {
        const run = () => values({ helmValues: { [component]: { config: { [key]: "s3cr3t-looking" } } } });
        expect(run).toThrow(ConfigError);
        expect(run).toThrow(`helmValues.${component}.config.${key}`);
        expect(run).toThrow(/gc, proxy, (seedPeer, )?health, metrics/);
        expect(run).not.toThrow(/s3cr3t-looking/);
    });

    test("of manager, only addr is rendered", () => {
        const run = () => values({ helmValues: { client: { config: { manager: { addr: "x", timeout: "1s" } } } } });
        expect(run).toThrow("helmValues.client.config.manager.timeout");
    });

    test("seedPeer is a seed client section, not a client one", () => {
        expect(() => values({ helmValues: { seedClient: { config: { seedPeer: { enable: true } } } } })).not.toThrow();
        expect(() => values({ helmValues: { client: { config: { seedPeer: { enable: true } } } } })).toThrow(
            "helmValues.client.config.seedPeer",
        );
    });

    test("another chart (a path or another version) is not checked against chart 1.7.4's templates", () => {
        const helmValues = { client: { config: { verbose: true } } };
        expect(() => values({ chart: { version: "1.7.5" }, helmValues })).not.toThrow();
        expect(() => values({ chart: { path: "./dragonfly" }, helmValues })).not.toThrow();
    });
});

describe("which helmValues leaves are secrets", () => {
    const secretIn = (path: string, value: unknown, configSecret: boolean) =>
        isSecretHelmValue(path.split("."), value, configSecret);

    test("`*` is one segment, `**` any number", () => {
        expect(matchesValuePath("**.image.tag", ["manager", "image", "tag"])).toBe(true);
        expect(matchesValuePath("**.image.tag", ["image", "tag"])).toBe(true);
        expect(matchesValuePath("mysql.initdbScripts.*", ["mysql", "initdbScripts", "a.sql"])).toBe(true);
        expect(matchesValuePath("mysql.initdbScripts.*", ["mysql", "initdbScripts"])).toBe(false);
        expect(matchesValuePath("**.extraEnvVars.*.value", ["client", "extraEnvVars", "0", "value"])).toBe(true);
    });

    test("credential paths always, whatever the type; credential key names for strings", () => {
        for (const configSecret of [false, true]) {
            expect(secretIn("externalRedis.password", 123456, configSecret)).toBe(true);
            expect(secretIn("manager.config.auth.jwt.key", "k", configSecret)).toBe(true);
            expect(secretIn("scheduler.config.someToken", "t", configSecret)).toBe(true);
            expect(secretIn("client.config.backend.apiKey", "t", configSecret)).toBe(true);
            // A boolean or a number under a credential-like name holds none.
            expect(secretIn("manager.serviceAccount.automountServiceAccountToken", false, configSecret)).toBe(false);
            expect(secretIn("mysql.auth.enabled", true, configSecret)).toBe(false);
        }
        expect(secretIn("mysql.auth.existingSecret", "my-secret", false)).toBe(false);
    });

    test("under a secret helmValues, strings are secrets except images, placement, sizes and log levels", () => {
        expect(secretIn("seedClient.config.host.idc", "x", true)).toBe(true);
        expect(secretIn("seedClient.config.host.idc", "x", false)).toBe(false);
        expect(secretIn("mysql.auth.existingSecret", "my-secret", true)).toBe(true);
        for (const path of [
            "manager.image.tag",
            "mysql.image.registry",
            "client.tolerations.0.key",
            "redis.master.nodeSelector.zone",
            "scheduler.resources.limits.cpu",
            "redis.master.persistence.size",
            "client.config.log.level",
            "redis.architecture",
        ]) {
            expect({ path, secret: secretIn(path, "x", true) }).toEqual({ path, secret: false });
        }
        expect(secretIn("manager.replicas", 3, true)).toBe(false);
        expect(secretIn("manager.enable", false, true)).toBe(false);
    });
});

describe("the Helm post-renderer", () => {
    const cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: df-manager\ndata:\n  manager.yaml: |-\n    auth: {jwt: {key: K}}\n";
    const deployment = (labels: string, extra = "") =>
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: df-manager\nspec:\n  template:\n" +
        `    metadata:\n      labels: ${labels}\n    spec:\n      containers: []\n      volumes:\n` +
        "      - name: config\n        configMap:\n          name: df-manager\n          items: [{key: manager.yaml, path: manager.yaml}]\n" +
        extra;
    const other = "# Source: x\napiVersion: v1\nkind: Service\nmetadata:\n  name: keep-me # as is\n";

    test("a Dragonfly workload's config ConfigMap becomes a Secret it mounts; other documents pass as they are", () => {
        const out = parseAllDocuments(
            postRender(`---\n${cm}---\n${deployment("{app: df, component: manager}")}---\n${other}`),
        ).map((d) => d.toJS());
        expect(out[0]).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "df-manager" },
            type: "Opaque",
            stringData: { "manager.yaml": "auth: {jwt: {key: K}}" },
        });
        expect(out[1].spec.template.spec.volumes).toEqual([
            {
                name: "config",
                secret: { secretName: "df-manager", items: [{ key: "manager.yaml", path: "manager.yaml" }] },
            },
        ]);
        expect(postRender(`---\n${other}`)).toBe(`---\n${other}`);
    });

    test("octal file modes stay octal, in documents it passes through and in those it rewrites (YAML 1.1, as Helm reads them)", () => {
        // Bitnami Redis's scripts volume: `defaultMode: 0755` is 493, not 755.
        const scripts =
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis\nspec:\n  template:\n" +
            "    spec:\n      volumes:\n      - name: start-scripts\n        configMap:\n          name: redis-scripts\n          defaultMode: 0755\n";
        const passed = postRender(`---\n${scripts}`);
        expect(passed).toContain("defaultMode: 0755");
        expect(
            parseAllDocuments(passed, { version: "1.1" })[0].toJS().spec.template.spec.volumes[0].configMap.defaultMode,
        ).toBe(0o755);
        const withMode = deployment("{app: df, component: manager}").replace(
            "          items:",
            "          defaultMode: 0644\n          items:",
        );
        const rewritten = parseAllDocuments(postRender(`---\n${cm}---\n${withMode}`), { version: "1.1" });
        expect(rewritten[1].toJS().spec.template.spec.volumes[0].secret.defaultMode).toBe(0o644);
    });

    test("other workloads' ConfigMaps stay; a moved one that something else names is refused", () => {
        const bitnami = deployment("{app.kubernetes.io/name: mysql}");
        expect(parseAllDocuments(postRender(`---\n${cm}---\n${bitnami}`))[0].toJS().kind).toBe("ConfigMap");
        const envFrom = "      - name: x\n        projected: {sources: [{configMap: {name: df-manager}}]}\n";
        expect(() => postRender(`---\n${cm}---\n${deployment("{app: df, component: manager}", envFrom)}`)).toThrow(
            "helmPostRender: ConfigMap df-manager became a Secret, but Deployment/df-manager",
        );
    });
});
