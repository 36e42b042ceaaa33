/**
 * Registries that preview must refuse (issue 18): two entries whose pulls go to the same
 * endpoint host (item 8: duplicated TOML tables took containerd down on every node), and, in
 * proxy mode, a routed registry that the NO_PROXY list covers (item 5: its pulls would go
 * straight to the registry with the TLS settings meant for the proxy).
 */
import { noProxyCovering, parseNodeConfig, registryEndpoint } from "../../lib/node/config";
import { applyScript, NodeScriptSpec } from "../../lib/node/scripts";
import { configErrorOf } from "../helpers/configError";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";

function nodeRaw(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        ssh: { privateKey: KEY },
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        nodes: [{ host: "192.168.0.10" }],
        ...extra,
    };
}

describe("registries that map to the same endpoint host are refused (item 8)", () => {
    test.each([
        [["docker.io", "registry-1.docker.io"], "registry-1.docker.io", 'registries[0], "docker.io"'],
        [["registry-1.docker.io", "docker.io"], "docker.io", 'registries[0], "registry-1.docker.io"'],
        [["quay.io", "Docker.io", "REGISTRY-1.docker.io"], "REGISTRY-1.docker.io", 'registries[1], "Docker.io"'],
    ])("%j: the second Docker Hub name is refused in both modes", (registries, second, first) => {
        for (const runtimeMode of ["proxy", "mirror"]) {
            const e = configErrorOf(() => parseNodeConfig(nodeRaw({ registries, runtimeMode })));
            expect(e.key).toBe(`registries[${registries.length - 1}]`);
            expect(e.value).toBe(JSON.stringify(second));
            expect(e.allowed).toBe(
                `a registry listed once: its pulls go to registry-1.docker.io, as those of ${first} do (Docker Hub: list docker.io only)`,
            );
        }
    });

    test("index.docker.io is refused, alone too: image names with it are read as docker.io", () => {
        for (const registries of [["index.docker.io"], ["docker.io", "index.docker.io"]]) {
            const e = configErrorOf(() => parseNodeConfig(nodeRaw({ registries })));
            expect(e.key).toBe(`registries[${registries.length - 1}]`);
            expect(e.value).toBe('"index.docker.io"');
            expect(e.allowed).toBe(
                "docker.io instead: image names with index.docker.io are read as docker.io (whose pulls go to registry-1.docker.io), so no pull would use this entry",
            );
        }
    });

    test("distinct registries, Docker Hub once, are accepted", () => {
        for (const runtimeMode of ["proxy", "mirror"]) {
            expect(
                parseNodeConfig(nodeRaw({ runtimeMode, registries: ["docker.io", "quay.io", "registry.local:5000"] }))
                    .registries,
            ).toEqual(["docker.io", "quay.io", "registry.local:5000"]);
        }
        expect(parseNodeConfig(nodeRaw({ registries: ["registry-1.docker.io"] })).registries).toEqual([
            "registry-1.docker.io",
        ]);
        expect(registryEndpoint("docker.io")).toEqual({ host: "registry-1.docker.io", port: 443 });
        expect(registryEndpoint("Registry.Local:5000")).toEqual({ host: "registry.local", port: 5000 });
        expect(registryEndpoint("[FD00::1]:5000")).toEqual({ host: "fd00::1", port: 5000 });
    });
});

describe("the node scripts refuse two names of one registry too (render output used by hand)", () => {
    const base: NodeScriptSpec = {
        runtime: "containerd",
        mode: "proxy",
        endpoint: "http://192.168.0.177:4001",
        registries: [],
        allRegistries: false,
        noProxy: ["localhost"],
    };
    test.each([
        [["docker.io", "registry-1.docker.io"], "proxy"],
        [["quay.io", "Docker.io", "registry-1.docker.io"], "mirror"],
    ] as const)("%j in %s mode", (registries, mode) => {
        expect(() => applyScript({ ...base, mode, registries: [...registries] })).toThrow(
            /registries "(docker|Docker)\.io" and "registry-1\.docker\.io" both go to registry-1\.docker\.io: list one of them/,
        );
    });

    test("distinct registries still make a script", () => {
        expect(applyScript({ ...base, registries: ["docker.io", "quay.io"] })).toContain(
            "REGISTRIES=('docker.io' 'quay.io')",
        );
    });
});

describe("proxy mode refuses a routed registry that NO_PROXY covers (item 5)", () => {
    const REMEDY = {
        noProxy: "remove the registry from registries, or the entry from noProxy",
        clusterCidrs: "remove the registry from registries, or the block from clusterCidrs",
        default: "remove the registry from registries (the default entries stay)",
    };
    function why(entry: string, remedy: string): string {
        return `a registry that NO_PROXY does not cover: ${entry} covers it, so its pulls would go straight to the registry with the TLS settings meant for the Dragonfly proxy (verification skipped, or only the proxy's CA trusted); ${remedy}`;
    }

    test.each([
        // Go's NO_PROXY rules (golang.org/x/net/http/httpproxy), which containerd and dockerd use.
        [["registry.local:5000"], { noProxy: ["registry.local"] }, 'noProxy[0] ("registry.local")', "noProxy"],
        [
            ["a.registry.local"],
            { noProxy: ["10.0.0.0/8", "registry.local"] },
            'noProxy[1] ("registry.local")',
            "noProxy",
        ],
        [["a.registry.local"], { noProxy: [".registry.local"] }, 'noProxy[0] (".registry.local")', "noProxy"],
        [["a.registry.local"], { noProxy: ["*.registry.local"] }, 'noProxy[0] ("*.registry.local")', "noProxy"],
        [["quay.io"], { noProxy: ["*"] }, 'noProxy[0] ("*")', "noProxy"],
        [["Quay.IO"], { noProxy: ["quay.io"] }, 'noProxy[0] ("quay.io")', "noProxy"],
        [["quay.io"], { noProxy: ["quay.io:443"] }, 'noProxy[0] ("quay.io:443")', "noProxy"],
        [["docker.io"], { noProxy: ["docker.io"] }, 'noProxy[0] ("docker.io")', "noProxy"],
        [["docker.io"], { noProxy: ["registry-1.docker.io"] }, 'noProxy[0] ("registry-1.docker.io")', "noProxy"],
        [["10.0.3.4:5000"], { noProxy: ["10.0.3.4"] }, 'noProxy[0] ("10.0.3.4")', "noProxy"],
        [["10.0.3.4:5000"], { noProxy: ["10.0.3.4:5000"] }, 'noProxy[0] ("10.0.3.4:5000")', "noProxy"],
        [["10.247.3.4:5000"], { clusterCidrs: ["10.247.0.0/16"] }, 'clusterCidrs[0] ("10.247.0.0/16")', "clusterCidrs"],
        [["[fd00::5]:5000"], { noProxy: ["fd00::/64"] }, 'noProxy[0] ("fd00::/64")', "noProxy"],
        [["registry.svc:5000"], {}, 'the default NO_PROXY entry ".svc"', "default"],
        [["localhost:5000"], {}, 'the default NO_PROXY entry "localhost"', "default"],
        [["127.0.0.2:5000"], {}, 'the default NO_PROXY entry "127.0.0.0/8"', "default"],
        [["[::1]:5000"], {}, "the loopback rule (loopback addresses never use a proxy)", "default"],
    ] as const)("%j with %j: refused, naming %s", (registries, extra, entry, kind) => {
        const e = configErrorOf(() =>
            parseNodeConfig(nodeRaw({ registries: [...registries, "swr.cn-north-4.myhuaweicloud.com"], ...extra })),
        );
        expect(e.key).toBe("registries[0]");
        expect(e.value).toBe(JSON.stringify(registries[0]));
        expect(e.allowed).toBe(why(entry, REMEDY[kind]));
    });

    test.each([
        [["registry.local:5000"], { noProxy: ["registry.local:5001"] }],
        [["registry.local"], { noProxy: [".registry.local"] }],
        [["notregistry.local"], { noProxy: ["registry.local"] }],
        [["registry.local:5000"], { clusterCidrs: ["10.0.0.0/8"] }],
        [["10.0.3.4:5000"], { noProxy: ["10.0.3.4:5001"] }],
        [["10.0.3.4:5000"], { noProxy: ["10.0.0.0/24"] }],
        [["docker.io"], { noProxy: [".docker.com", "auth.docker.io"] }],
    ] as const)("%j with %j: accepted (NO_PROXY does not cover it)", (registries, extra) => {
        expect(parseNodeConfig(nodeRaw({ registries, ...extra })).registries).toEqual(registries);
    });

    test("mirror mode writes no NO_PROXY, so the same lists are accepted there", () => {
        const c = parseNodeConfig(
            nodeRaw({ runtimeMode: "mirror", registries: ["registry.svc:5000"], noProxy: ["*"] }),
        );
        expect(c.registries).toEqual(["registry.svc:5000"]);
    });

    test("noProxyCovering names the first entry that covers, in NO_PROXY order", () => {
        expect(noProxyCovering("registry.local:5000", [".local", "registry.local"])).toBe(".local");
        expect(noProxyCovering("registry.local:5000", ["other.local"])).toBeUndefined();
    });
});
