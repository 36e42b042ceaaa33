/**
 * Validation gaps found in review (issue 13): mistyped IPv4 addresses taken for host names,
 * duplicates that differ only in case, an `imageRegistry` or `chart.repo` that is not one, and
 * IPv6 nodes without a `name` (refused before; now named after their address).
 */
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { nodesFromOutput, parseStackConfig, RawStackConfig } from "../../lib/config";
import { parseCoreConfig } from "../../lib/cluster/config";
import { defaultNodeName, parseNodeConfig } from "../../lib/node/config";
import { freshProgram, recordResources, resolve, setStackOutputs, waitFor } from "../helpers/mockEngine";
import { configErrorOf } from "../helpers/configError";

const registered = recordResources({ preview: true });

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";
const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFmHNBd3UtBQF1XhUfpfUiWtcgtFyo7TTmKsKpUgsyxU";

function nodeRaw(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        ssh: { privateKey: KEY },
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        nodes: [{ host: "192.168.0.10" }],
        ...extra,
    };
}

const BAD_IPV4 = ["192.168.0.300", "010.0.0.1", "10.0.1", "1.2.3.4.5", "256.1.1.1"];

describe("hosts: a mistyped IPv4 address is not a host name", () => {
    test.each(BAD_IPV4)("%s is refused wherever a host is parsed, naming key, value and the rule", (bad) => {
        const places: [string, () => unknown][] = [
            ["nodes[0].host", () => parseNodeConfig(nodeRaw({ nodes: [{ host: bad }] }))],
            ["ssh.bastion.host", () => parseNodeConfig(nodeRaw({ ssh: { privateKey: KEY, bastion: { host: bad } } }))],
            ["console.nodeAddress", () => parseCoreConfig({ nodePool: "p", console: { nodeAddress: bad } })],
            ["proxy.address", () => parseCoreConfig({ nodePool: "p", proxy: { address: bad } })],
        ];
        for (const [key, parse] of places) {
            const e = configErrorOf(parse);
            expect(e.key).toBe(key);
            expect(e.value).toBe(JSON.stringify(bad));
            expect(e.allowed).toMatch(/four numbers from 0 to 255 without leading zeros, e\.g\. 192\.168\.0\.10/);
        }
    });

    test.each(BAD_IPV4)("%s is refused as a registry host and in ssh.knownHosts", (bad) => {
        expect(configErrorOf(() => parseNodeConfig(nodeRaw({ registries: [`${bad}:5000`] }))).key).toBe(
            "registries[0]",
        );
        const e = configErrorOf(() =>
            parseNodeConfig(nodeRaw({ ssh: { privateKey: KEY, knownHosts: `${bad} ${ED}` } })),
        );
        expect(e.key).toBe("ssh.knownHosts");
    });

    test("valid hosts are still accepted", () => {
        const hosts = ["192.168.0.30", "10.0.0.1", "0.0.0.0", "node-1.example.com", "node1", "fd00::1", "a1.b2c"];
        const cfg = parseNodeConfig(nodeRaw({ nodes: hosts.map((host) => ({ host })) }));
        expect(cfg.nodes.map((n) => n.host)).toEqual(hosts);
        expect(parseCoreConfig({ nodePool: "p", proxy: { address: "elb.example.com" } }).proxy.address).toBe(
            "elb.example.com",
        );
    });
});

describe("duplicates that differ only in case", () => {
    test("node names", () => {
        const e = configErrorOf(() =>
            parseNodeConfig(
                nodeRaw({
                    nodes: [
                        { host: "192.168.0.10", name: "Node-1" },
                        { host: "192.168.0.11", name: "node-1" },
                    ],
                }),
            ),
        );
        expect(e.key).toBe("nodes[1].name");
        expect(e.value).toBe('"node-1"');
        expect(e.allowed).toBe('a name used once, ignoring case (nodes[0] has "Node-1"; set name to tell them apart)');
    });

    test("registry hosts", () => {
        const e = configErrorOf(() =>
            parseNodeConfig(
                nodeRaw({ registries: ["SWR.cn-north-4.myhuaweicloud.com", "swr.cn-north-4.myhuaweicloud.com"] }),
            ),
        );
        expect(e.key).toBe("registries[1]");
        expect(e.value).toBe('"swr.cn-north-4.myhuaweicloud.com"');
        expect(e.allowed).toBe(
            'a registry listed once, ignoring case (it is already registries[0], "SWR.cn-north-4.myhuaweicloud.com")',
        );
    });
});

describe("imageRegistry", () => {
    test.each([
        ".",
        "-",
        "..",
        "a..b",
        "registry.local:0",
        "registry.local:99999",
        "10.0.1:5000",
        "reg/Upper",
        "reg//x",
        "reg/",
    ])("%s is refused", (bad) => {
        const e = configErrorOf(() => parseCoreConfig({ nodePool: "p", imageRegistry: bad }));
        expect(e.key).toBe("imageRegistry");
        expect(e.value).toBe(JSON.stringify(bad));
        expect(e.allowed).toMatch(/a registry host \(DNS name or IP address\) with optional port and lower-case path/);
    });

    test.each([
        "swr.cn-north-4.myhuaweicloud.com/dragonfly",
        "registry.local:5000/org/team",
        "192.168.0.5:5000",
        "[fd00::1]:5000/mirror",
        "localhost:5000",
        "docker.io",
    ])("%s is accepted", (good) => {
        expect(parseCoreConfig({ nodePool: "p", imageRegistry: good }).imageRegistry).toBe(good);
    });
});

describe("chart.repo", () => {
    test.each([
        "https://a b",
        "https://",
        "https:// example.com",
        "https://a..b/",
        "ftp://example.com",
        "https://10.0.1/charts",
        "https://example.com:0/",
    ])("%s is refused", (bad) => {
        const e = configErrorOf(() => parseCoreConfig({ nodePool: "p", chart: { repo: bad } }));
        expect(e.key).toBe("chart.repo");
        expect(e.value).toBe(JSON.stringify(bad));
        expect(e.allowed).toMatch(/an http\(s\) or oci:\/\/ chart repository URL with a valid host and no spaces/);
    });

    test.each([
        "https://dragonflyoss.github.io/helm-charts/",
        "oci://registry.example.com/charts",
        "http://192.168.0.5:8080/charts",
        "https://[fd00::5]/charts",
    ])("%s is accepted", (good) => {
        expect(parseCoreConfig({ nodePool: "p", chart: { repo: good } }).chart.repo).toBe(good);
    });
});

describe("IPv6 nodes without a name", () => {
    test.each([
        ["fd00::1", "fd00--1"],
        ["FD00:0::A", "fd00--a"],
        ["::1", "0--1"],
        ["fe80::", "fe80--0"],
        ["2001:db8:85a3:0:0:8a2e:370:7334", "2001-db8-85a3--8a2e-370-7334"],
        ["::ffff:192.168.0.1", "0--ffff-c0a8-1"],
        ["fe80::1%eth0", "fe80--1-eth0"],
    ])("%s is named %s: a valid node name, Pulumi resource name and file name", (host, name) => {
        const cfg = parseNodeConfig(nodeRaw({ nodes: [{ host }] }));
        expect(cfg.nodes[0]).toMatchObject({ host, name });
        expect(defaultNodeName(host)).toBe(name);
        expect(name).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
        expect(path.basename(name)).toBe(name);
        expect(path.posix.normalize(name)).toBe(name);
    });

    test("host names and IPv4 addresses are still their own name", () => {
        expect(defaultNodeName("192.168.0.10")).toBe("192.168.0.10");
        expect(defaultNodeName("node-1.example.com")).toBe("node-1.example.com");
    });

    test("two spellings of one IPv6 address are one node", () => {
        const e = configErrorOf(() =>
            parseNodeConfig(
                nodeRaw({
                    nodes: [
                        { host: "fd00::1", name: "a" },
                        { host: "fd00:0::1", name: "b" },
                    ],
                }),
            ),
        );
        expect(e.key).toBe("nodes[1].host");
        expect(e.allowed).toMatch(/nodes\[0\] is the same host and port/);
    });

    test("a host too long for a name asks for name, and does not blame a value never set", () => {
        const host = `${"a".repeat(60)}.${"b".repeat(10)}.example.com`;
        const e = configErrorOf(() => parseNodeConfig(nodeRaw({ nodes: [{ host }] })));
        expect(e.key).toBe("nodes[0].name");
        expect(e.value).toBe("nothing (the key is not set)");
        expect(e.allowed).toMatch(/^a name: required because the host \(83 characters\) is longer than a name may be/);
    });

    test("an IPv6 host from nodesFromStack gets its name", () => {
        const source = { stack: "org/nodes/dev", output: "hosts" };
        const raw: RawStackConfig = { nodePool: "p", ...nodeRaw({ nodes: undefined }), nodesFromStack: source };
        const cfg = parseStackConfig(raw, { entries: nodesFromOutput(["fd00::21", "192.168.0.22"], source), source });
        expect(cfg.nodes.nodes.map((n) => [n.name, n.host])).toEqual([
            ["fd00--21", "fd00::21"],
            ["192.168.0.22", "192.168.0.22"],
        ]);
    });

    test("under the mock engine, an IPv6 node of the other stack is configured", async () => {
        setStackOutputs("org/nodes/dev", { hosts: ["fd00::21"] });
        const before = registered.length;
        pulumi.runtime.setAllConfig({
            "dragonfly-cce:nodePool": "p",
            "dragonfly-cce:ssh": JSON.stringify({ privateKey: KEY }),
            "dragonfly-cce:registries": JSON.stringify(["swr.cn-north-4.myhuaweicloud.com"]),
            "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "org/nodes/dev", output: "hosts" }),
            "dragonfly-cce:verify": JSON.stringify({ image: "swr.cn-north-4.myhuaweicloud.com/library/busybox:1.36" }),
        });
        const exports: Record<string, any> = freshProgram(() => require("../../index"));
        expect(await resolve(exports.configuredNodes)).toEqual(["fd00--21"]);
        const isRuntime = (r: { type: string; name: string }) =>
            r.type === "command:remote:Command" && r.name.endsWith("-runtime");
        await waitFor(() => registered.slice(before).some(isRuntime));
        const runtime = registered.slice(before).find(isRuntime);
        expect(runtime?.name).toContain("fd00--21");
        expect(runtime?.inputs.connection.host).toBe("fd00::21");
        expect((await resolve(exports.verification))?.throughDragonfly).toBe(true);
    });
});
