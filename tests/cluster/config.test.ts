import {
    ConfigError,
    DEFAULT_NAMESPACE,
    DEFAULT_NODE_POOL_LABEL_KEY,
    DEFAULT_RELEASE_NAME,
    DEFAULT_STORAGE_CLASS,
    parseCoreConfig,
} from "../../lib/cluster/config";
import { DEFAULT_CHART_REPO, DEFAULT_CHART_VERSION, DEFAULT_PROXY_PORT } from "../../lib/dragonfly";
import { ConfigError as ValidateConfigError } from "../../lib/config/validate";

const base = { nodePool: "test-dragonfly-nodepool" };

/** Parses and expects a ConfigError naming key, value and the allowed values. */
function expectError(raw: Record<string, unknown>, key: string, value: RegExp | string, allowed: RegExp): void {
    let err: unknown;
    try {
        parseCoreConfig(raw);
    } catch (e) {
        err = e;
    }
    expect(err).toBeInstanceOf(ValidateConfigError);
    const ce = err as ValidateConfigError;
    expect(ce.key).toBe(key);
    if (typeof value === "string") {
        expect(ce.value).toBe(value);
    } else {
        expect(ce.value).toMatch(value);
    }
    expect(ce.allowed).toMatch(allowed);
    expect(ce.message).toContain(`dragonfly-cce:${key}`);
}

describe("parseCoreConfig defaults", () => {
    test("only nodePool set gives the documented defaults", () => {
        const cfg = parseCoreConfig(base);
        expect(cfg).toEqual({
            nodePool: "test-dragonfly-nodepool",
            nodePoolLabelKey: DEFAULT_NODE_POOL_LABEL_KEY,
            nodePoolTolerations: [],
            namespace: DEFAULT_NAMESPACE,
            releaseName: DEFAULT_RELEASE_NAME,
            chart: { version: DEFAULT_CHART_VERSION, repo: DEFAULT_CHART_REPO },
            storageClass: DEFAULT_STORAGE_CLASS,
            imagePullSecrets: [],
            helmValues: {},
            deleteVolumesOnUninstall: true,
            releaseTimeoutSeconds: 900,
            releaseSkipAwait: false,
            proxy: {
                port: DEFAULT_PROXY_PORT,
                basicAuth: false,
                loadBalancer: {
                    elbClass: "union",
                    autocreate: { type: "inner" },
                    annotations: {},
                    sourceRanges: [],
                    externalTrafficPolicy: "Local",
                },
            },
            console: { rotatePassword: true },
        });
        expect(DEFAULT_CHART_VERSION).toBe("1.7.4");
        expect(DEFAULT_STORAGE_CLASS).toBe("csi-disk");
        expect(DEFAULT_NODE_POOL_LABEL_KEY).toBe("cce.cloud.com/cce-nodepool");
    });

    test("ConfigError is re-exported for callers", () => {
        expect(ConfigError).toBe(ValidateConfigError);
    });

    test("scalars given as text (pulumi config set stores text) are accepted", () => {
        const cfg = parseCoreConfig({
            ...base,
            proxy: { port: "4002", basicAuth: "true" },
            console: { nodePort: "30080", rotatePassword: "false" },
            deleteVolumesOnUninstall: "false",
        });
        expect(cfg.proxy.port).toBe(4002);
        expect(cfg.proxy.basicAuth).toBe(true);
        expect(cfg.console).toEqual({ nodePort: 30080, rotatePassword: false });
        expect(cfg.deleteVolumesOnUninstall).toBe(false);
    });

    test("an existing ELB replaces the auto-created one", () => {
        const cfg = parseCoreConfig({
            ...base,
            proxy: { loadBalancer: { elbId: "5083f225-9bf8-48fa-9c8b-67bd9693c4c0", elbClass: "performance" } },
        });
        expect(cfg.proxy.loadBalancer.elbId).toBe("5083f225-9bf8-48fa-9c8b-67bd9693c4c0");
        expect(cfg.proxy.loadBalancer.autocreate).toBeUndefined();
        expect(cfg.proxy.loadBalancer.elbClass).toBe("performance");
    });

    test("a local chart path allows a non-semver version label", () => {
        const cfg = parseCoreConfig({ ...base, chart: { path: "./dragonfly", version: "local" } });
        expect(cfg.chart).toEqual({ path: "./dragonfly", version: "local", repo: DEFAULT_CHART_REPO });
    });

    test("tolerations, source ranges and kubeconfig objects are kept", () => {
        const cfg = parseCoreConfig({
            ...base,
            nodePoolTolerations: [
                { key: "dedicated", operator: "Equal", value: "dragonfly", effect: "NoSchedule" },
                { operator: "Exists" },
                {
                    key: "node.kubernetes.io/unreachable",
                    operator: "Exists",
                    effect: "NoExecute",
                    tolerationSeconds: 60,
                },
            ],
            proxy: { loadBalancer: { sourceRanges: ["192.168.0.0/16", "fd00::/64"] } },
            kubeconfig: { apiVersion: "v1", clusters: [] },
        });
        expect(cfg.nodePoolTolerations).toHaveLength(3);
        expect(cfg.nodePoolTolerations[2].tolerationSeconds).toBe(60);
        expect(cfg.proxy.loadBalancer.sourceRanges).toEqual(["192.168.0.0/16", "fd00::/64"]);
        expect(JSON.parse(cfg.kubeconfig as string)).toEqual({ apiVersion: "v1", clusters: [] });
    });
});

describe("parseCoreConfig rejects bad input, naming key, value and what is allowed", () => {
    test("missing nodePool", () => {
        expectError({}, "nodePool", "nothing (the key is not set)", /node pool.*required/);
    });
    test("a node pool name Kubernetes would reject as a label value", () => {
        expectError({ nodePool: "bad pool!" }, "nodePool", '"bad pool!"', /label value/);
        expectError({ nodePool: "x".repeat(64) }, "nodePool", /^"x+/, /63 characters/);
        expectError({ nodePool: "-starts-with-dash" }, "nodePool", '"-starts-with-dash"', /alphanumeric at both ends/);
    });
    test("a bad label key", () => {
        expectError({ ...base, nodePoolLabelKey: "a/b/c" }, "nodePoolLabelKey", '"a/b/c"', /label key/);
    });
    test("proxy port out of range", () => {
        expectError({ ...base, proxy: { port: 70000 } }, "proxy.port", "70000", /integer from 1 to 65535/);
        expectError({ ...base, proxy: { port: 0 } }, "proxy.port", "0", /integer from 1 to 65535/);
        expectError({ ...base, proxy: { port: 40.5 } }, "proxy.port", "40.5", /integer/);
    });
    test("console.password: 8-20 characters, a ValidateConfigError that never shows the value", () => {
        expect(parseCoreConfig({ ...base, console: { password: "Chosen-Pw_123" } }).console.password).toBe(
            "Chosen-Pw_123",
        );
        expect(parseCoreConfig(base).console.password).toBeUndefined();
        for (const bad of ["Short-7", "Twenty-One-Characters", "has a space1", 12345678]) {
            let error: unknown;
            try {
                parseCoreConfig({ ...base, console: { password: bad } });
            } catch (e) {
                error = e;
            }
            expect(error).toBeInstanceOf(ValidateConfigError);
            expect((error as ValidateConfigError).key).toBe("console.password");
            expect((error as ValidateConfigError).message).toMatch(/got \[secret\].*8 to 20/);
            expect((error as ValidateConfigError).message).not.toContain(String(bad));
        }
    });

    test("a console node port outside 30000-32767", () => {
        expectError({ ...base, console: { nodePort: 8080 } }, "console.nodePort", "8080", /30000 to 32767/);
        expectError({ ...base, console: { nodePort: 32768 } }, "console.nodePort", "32768", /30000 to 32767/);
    });
    test("both elbId and autocreate", () => {
        expectError(
            {
                ...base,
                proxy: {
                    loadBalancer: { elbId: "5083f225-9bf8-48fa-9c8b-67bd9693c4c0", autocreate: { type: "inner" } },
                },
            },
            "proxy.loadBalancer.autocreate",
            '{"type":"inner"}',
            /not together with elbId/,
        );
    });
    test("an elbId that is not an id", () => {
        expectError(
            { ...base, proxy: { loadBalancer: { elbId: "my-elb" } } },
            "proxy.loadBalancer.elbId",
            '"my-elb"',
            /UUID/,
        );
    });
    test("an autocreate of unknown type", () => {
        expectError(
            { ...base, proxy: { loadBalancer: { autocreate: { type: "private" } } } },
            "proxy.loadBalancer.autocreate.type",
            '"private"',
            /"inner".*"public"/,
        );
    });
    test("a malformed IP in sourceRanges", () => {
        expectError(
            { ...base, proxy: { loadBalancer: { sourceRanges: ["10.0.0.0/8", "10.0.0.300/32"] } } },
            "proxy.loadBalancer.sourceRanges[1]",
            '"10.0.0.300/32"',
            /CIDR/,
        );
        expectError(
            { ...base, proxy: { loadBalancer: { sourceRanges: ["10.0.0.0/33"] } } },
            "proxy.loadBalancer.sourceRanges[0]",
            '"10.0.0.0/33"',
            /CIDR/,
        );
        expectError(
            { ...base, proxy: { loadBalancer: { sourceRanges: "10.0.0.0/8" } } },
            "proxy.loadBalancer.sourceRanges",
            '"10.0.0.0/8"',
            /a list/,
        );
    });
    test("a non-semver chart version with no path", () => {
        expectError(
            { ...base, chart: { version: "latest" } },
            "chart.version",
            '"latest"',
            /semantic version.*chart.path/,
        );
        expectError({ ...base, chart: { version: "1.7" } }, "chart.version", '"1.7"', /semantic version/);
    });
    test("a chart repo that is not a URL", () => {
        expectError(
            { ...base, chart: { repo: "dragonflyoss.github.io" } },
            "chart.repo",
            '"dragonflyoss.github.io"',
            /URL/,
        );
    });
    test("unknown keys in structured objects (typos are not ignored)", () => {
        expectError(
            { ...base, proxy: { prot: 4001 } },
            "proxy.prot",
            "a number (value hidden: proxy may hold secrets)",
            /no such key.*port, address, basicAuth, loadBalancer/,
        );
        expectError({ ...base, chart: { versoin: "1.7.4" } }, "chart.versoin", '"1.7.4"', /no such key/);
        expectError(
            { ...base, console: { nodeport: 30080 } },
            "console.nodeport",
            "a number (value hidden: console may hold secrets)",
            /no such key.*nodePort/,
        );
        expectError(
            { ...base, proxy: { loadBalancer: { sourceRange: [] } } },
            "proxy.loadBalancer.sourceRange",
            "[]",
            /no such key.*sourceRanges/,
        );
        expectError(
            { ...base, nodePoolTolerations: [{ key: "a", efect: "NoSchedule" }] },
            "nodePoolTolerations[0].efect",
            '"NoSchedule"',
            /no such key/,
        );
    });
    test("bad tolerations", () => {
        expectError(
            { ...base, nodePoolTolerations: [{ key: "a", effect: "NoEvict" }] },
            "nodePoolTolerations[0].effect",
            '"NoEvict"',
            /NoSchedule.*PreferNoSchedule.*NoExecute/,
        );
        expectError(
            { ...base, nodePoolTolerations: [{ key: "a", operator: "Exists", value: "b" }] },
            "nodePoolTolerations[0].value",
            '"b"',
            /no value when operator is "Exists"/,
        );
        expectError(
            { ...base, nodePoolTolerations: [{ key: "a", effect: "NoSchedule", tolerationSeconds: 5 }] },
            "nodePoolTolerations[0].tolerationSeconds",
            "5",
            /NoExecute/,
        );
        expectError(
            { ...base, nodePoolTolerations: [{ value: "x" }] },
            "nodePoolTolerations[0].operator",
            /nothing/,
            /Exists/,
        );
    });
    test("bad names", () => {
        expectError({ ...base, namespace: "Dragonfly_System" }, "namespace", '"Dragonfly_System"', /namespace name/);
        expectError({ ...base, releaseName: "x".repeat(54) }, "releaseName", /^"x+/, /53 characters/);
        expectError({ ...base, storageClass: "CSI Disk" }, "storageClass", '"CSI Disk"', /StorageClass/);
        expectError(
            { ...base, imageRegistry: "https://swr.example.com" },
            "imageRegistry",
            '"https://swr.example.com"',
            /no scheme/,
        );
        expectError({ ...base, imagePullSecrets: ["ok", "Not OK"] }, "imagePullSecrets[1]", '"Not OK"', /Secret/);
    });
    test("bad enums and addresses", () => {
        expectError(
            { ...base, proxy: { loadBalancer: { elbClass: "dedicated" } } },
            "proxy.loadBalancer.elbClass",
            '"dedicated"',
            /"union", "performance"/,
        );
        expectError(
            { ...base, proxy: { loadBalancer: { externalTrafficPolicy: "local" } } },
            "proxy.loadBalancer.externalTrafficPolicy",
            '"local"',
            /"Local", "Cluster"/,
        );
        expectError(
            { ...base, proxy: { address: "http://1.2.3.4" } },
            "proxy.address",
            '"http://1.2.3.4"',
            /without scheme/,
        );
        expectError(
            { ...base, console: { nodeAddress: "1.2.3.4:30080" } },
            "console.nodeAddress",
            '"1.2.3.4:30080"',
            /without scheme or port/,
        );
        expectError(
            { ...base, proxy: { basicAuth: "yes" } },
            "proxy.basicAuth",
            "a string (value hidden: proxy may hold secrets)",
            /true or false/,
        );
        expectError(
            { ...base, helmValues: ["a"] },
            "helmValues",
            "a list (value hidden: helmValues may hold secrets)",
            /an object/,
        );
        expectError({ ...base, releaseTimeoutSeconds: 5 }, "releaseTimeoutSeconds", "5", /60 to 7200/);
        expectError({ ...base, releaseSkipAwait: "sometimes" }, "releaseSkipAwait", '"sometimes"', /true or false/);
    });
    test("annotations must be strings with valid names", () => {
        expectError(
            { ...base, proxy: { loadBalancer: { annotations: { "kubernetes.io/elb.health-check-flag": true } } } },
            "proxy.loadBalancer.annotations.kubernetes.io/elb.health-check-flag",
            "true",
            /a string/,
        );
    });
    test("a kubeconfig of the wrong type never shows its value", () => {
        let err: ValidateConfigError | undefined;
        try {
            parseCoreConfig({ ...base, kubeconfig: 12345 });
        } catch (e) {
            err = e as ValidateConfigError;
        }
        expect(err?.key).toBe("kubeconfig");
        expect(err?.value).toBe("[secret]");
        expect(err?.message).not.toContain("12345");
    });
});
