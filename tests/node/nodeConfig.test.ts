import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../lib/config/validate";
import {
    activeNodes,
    buildNoProxy,
    DEFAULT_MAX_PARALLEL,
    DEFAULT_NO_PROXY,
    DEFAULT_SSH_USER,
    parseNodeConfig,
} from "../../lib/node/config";
import { withSecrets } from "../../lib/config/pulumi";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n";
const ok = {
    nodes: [{ host: "192.168.0.10" }],
    ssh: { privateKey: KEY },
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
};

function error(raw: Record<string, unknown>): ConfigError {
    try {
        parseNodeConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
}

async function reveal<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((resolve) => o.apply((v) => resolve(v)));
    return { value, secret: await pulumi.isSecret(o) };
}

describe("parseNodeConfig", () => {
    test("defaults", () => {
        const c = parseNodeConfig(ok);
        expect(c.nodes).toEqual([
            {
                name: "192.168.0.10",
                host: "192.168.0.10",
                port: 22,
                user: DEFAULT_SSH_USER,
                runtime: "containerd",
                gone: false,
            },
        ]);
        expect(c.runtimeMode).toBe("proxy");
        expect(c.mirrorEndpoint).toBe("loadBalancer");
        expect(c.rollout.maxParallel).toBe(DEFAULT_MAX_PARALLEL);
        expect(DEFAULT_SSH_USER).toBe("root");
    });

    test("an empty configuration configures no node", () => {
        const c = parseNodeConfig({});
        expect(c.nodes).toEqual([]);
        expect(c.registries).toEqual([]);
    });

    test("private key and password become secrets at the Pulumi edge and never appear in errors", async () => {
        const parsed = parseNodeConfig({
            ...ok,
            ssh: { privateKey: KEY, password: "hunter2hunter2", user: "ops", bastion: { host: "bastion.example.com" } },
        });
        const c = withSecrets(parsed);
        expect(c).toEqual({ ...parsed, ssh: c.ssh });
        expect(await reveal(c.ssh.privateKey!)).toEqual({ value: KEY, secret: true });
        expect(await reveal(c.ssh.password!)).toEqual({ value: "hunter2hunter2", secret: true });
        expect(c.ssh.bastion).toMatchObject({ host: "bastion.example.com", port: 22, user: "ops" });
        expect(await reveal(c.ssh.bastion!.privateKey!)).toEqual({ value: KEY, secret: true });
        expect(c.nodes[0].user).toBe("ops");
        const e = error({ ...ok, ssh: { privateKey: "not-a-key-secretmaterial" } });
        expect(e.key).toBe("ssh.privateKey");
        expect(e.message).not.toContain("secretmaterial");
        const e2 = error({ ...ok, ssh: { privateKey: KEY, password: 42 } });
        expect(e2.message).not.toContain("42");
    });

    test.each([
        [{ ...ok, nodes: [{ host: "bad host" }] }, "nodes[0].host"],
        [{ ...ok, nodes: [{ host: "10.0.0.1", port: 70000 }] }, "nodes[0].port"],
        [{ ...ok, nodes: [{ host: "10.0.0.1", user: "root;rm" }] }, "nodes[0].user"],
        [{ ...ok, nodes: [{ host: "10.0.0.1", runtime: "cri-o" }] }, "nodes[0].runtime"],
        [{ ...ok, nodes: [{ host: "10.0.0.1", colour: "red" }] }, "nodes[0].colour"],
        [{ ...ok, nodes: ["10.0.0.1"] }, "nodes[0]"],
        [{ ...ok, nodes: [{ host: "10.0.0.1" }, { host: "10.0.0.1" }] }, "nodes[1].name"],
        [
            {
                ...ok,
                nodes: [
                    { host: "10.0.0.1", name: "a" },
                    { host: "10.0.0.1", name: "b" },
                ],
            },
            "nodes[1].host",
        ],
        [{ ...ok, runtimeMode: "mirror", nodes: [{ host: "10.0.0.1", runtime: "docker" }] }, "nodes[0].runtime"],
        [{ ...ok, runtimeMode: "p2p" }, "runtimeMode"],
        [{ ...ok, registries: ["https://swr.example.com"] }, "registries[0]"],
        [{ ...ok, registries: ["swr.example.com:443"] }, "registries[0]"],
        [{ ...ok, registries: ["swr.example.com/library"] }, "registries[0]"],
        [{ ...ok, registries: ["a.example.com", "a.example.com"] }, "registries[1]"],
        [{ ...ok, registries: [] }, "registries"],
        [{ ...ok, allRegistries: true }, "allRegistries"],
        [{ ...ok, noProxy: ["a.example.com,b.example.com"] }, "noProxy[0]"],
        [{ ...ok, clusterCidrs: ["10.0.0.0/33"] }, "clusterCidrs[0]"],
        [{ ...ok, mirrorEndpoint: "local" }, "mirrorEndpoint"],
        [{ ...ok, mirrorEndpoint: "elsewhere" }, "mirrorEndpoint"],
        [{ ...ok, rollout: { maxParallel: 0 } }, "rollout.maxParallel"],
        [{ ...ok, rollout: { maxParalel: 2 } }, "rollout.maxParalel"],
        [{ ...ok, ssh: {} }, "ssh"],
        [{ ...ok, ssh: { privateKey: KEY, bastion: { host: "b.example.com", port: 0 } } }, "ssh.bastion.port"],
        [{ ...ok, nodez: [] }, "nodez"],
    ])("rejects %j at %s", (raw, key) => {
        expect(error(raw as Record<string, unknown>).key).toBe(key);
    });

    test("accepts mirror mode with local endpoint, ports, IPv6 and string numbers", () => {
        const c = parseNodeConfig({
            ...ok,
            runtimeMode: "mirror",
            mirrorEndpoint: "local",
            allRegistries: "true",
            registries: ["registry.local:5000", "10.0.0.5:8080", "[fd00::1]:5000"],
            nodes: [{ host: "fd00::10", name: "n1", port: "2222", user: "ec2-user" }],
            rollout: { maxParallel: "3" },
        });
        expect(c.nodes[0]).toEqual({
            name: "n1",
            host: "fd00::10",
            port: 2222,
            user: "ec2-user",
            runtime: "containerd",
            gone: false,
        });
        expect(c.allRegistries).toBe(true);
        expect(c.rollout.maxParallel).toBe(3);
    });
});

describe("nodes[].gone", () => {
    test("a node marked gone stays in nodes and leaves activeNodes; anything but a boolean is refused with the key", () => {
        const c = parseNodeConfig({
            ...ok,
            nodes: [
                { host: "192.168.0.10" },
                { host: "192.168.0.11", gone: true },
                { host: "192.168.0.12", gone: "false" },
            ],
        });
        expect(c.nodes.map((n) => n.gone)).toEqual([false, true, false]);
        expect(activeNodes(c.nodes).map((n) => n.host)).toEqual(["192.168.0.10", "192.168.0.12"]);
        const e = error({ ...ok, nodes: [{ host: "192.168.0.10", gone: "yes" }] });
        expect(e.key).toBe("nodes[0].gone");
    });
});

describe("buildNoProxy", () => {
    test("defaults, then cluster CIDRs, then extra entries, without duplicates", () => {
        expect(
            buildNoProxy(
                [".internal", "localhost", "100.125.0.0/16"],
                ["10.247.0.0/16", "172.16.0.0/16", "10.247.0.0/16"],
            ),
        ).toEqual([...DEFAULT_NO_PROXY, "10.247.0.0/16", "172.16.0.0/16", ".internal", "100.125.0.0/16"]);
        expect(DEFAULT_NO_PROXY).toEqual(["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc"]);
    });
});
