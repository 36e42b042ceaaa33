/**
 * The whole stack with nodes, console rotation and the pull check, under the mock engine:
 * ordering across components, secrets end to end, outputs.
 */
import * as pulumi from "@pulumi/pulumi";

import {
    CapturedOptions,
    captureOptions,
    MOCK_LB_IP,
    MOCK_NODE_PORT,
    MOCK_HOST_KEY,
    MOCK_VERIFICATION,
    mockPassword,
    plainLeaks,
    recordResources,
    Registered,
    resolve,
} from "../helpers/mockEngine";
import { logMark, pulumiWarnings } from "../helpers/pulumiLog";

const registered: Registered[] = recordResources();

import { DragonflyCce } from "../../components/dragonflyCce";
import { parseStackConfig } from "../../lib/config";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";

const RAW = {
    nodePool: "test-dragonfly-nodepool",
    nodes: [
        { name: "node-1", host: "192.168.0.11" },
        { name: "node-2", host: "192.168.0.12", user: "ops" },
        { name: "node-3", host: "192.168.0.13", runtime: "docker" },
    ],
    ssh: { privateKey: KEY },
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
    rollout: { maxParallel: 2 },
    verify: { image: "swr.cn-north-4.myhuaweicloud.com/library/busybox:latest", node: "node-1" },
};

interface Built {
    stack: DragonflyCce;
    captured: CapturedOptions[];
    resources: Registered[];
}

async function build(raw: Record<string, unknown>, name: string): Promise<Built> {
    const before = registered.length;
    const captured: CapturedOptions[] = [];
    const stack = new DragonflyCce(name, parseStackConfig(raw), { transformations: [captureOptions(captured)] });
    await resolve(
        pulumi.all([
            stack.proxyAddress,
            stack.consoleUrl,
            stack.noProxy,
            stack.configuredNodes,
            stack.consoleCredentials,
            stack.verification,
        ]),
    );
    return { stack, captured, resources: registered.slice(before) };
}

const cap = (b: Built, type: string) => b.captured.filter((c) => c.type === type);
const named = (b: Built, name: string) => {
    const c = b.captured.find((x) => x.name === name);
    expect(c).toBeDefined();
    return c as CapturedOptions;
};

describe("DragonflyCce with nodes, console rotation and verification", () => {
    let b: Built;
    let mark: number;
    beforeAll(async () => {
        mark = logMark();
        b = await build(RAW, "df");
    });

    test("no host key configured: one loud warning per node at preview time, naming the risk", () => {
        const warnings = pulumiWarnings(mark);
        expect(warnings).toHaveLength(3);
        for (const [i, n] of RAW.nodes.entries()) {
            expect(warnings[i]).toContain(`SSH host key of node ${n.name} (${n.host}) is NOT checked`);
            expect(warnings[i]).toContain("root-level scripts, the proxy credentials and the console password");
        }
        const cmds = b.resources.filter((r) => r.type === "command:remote:Command");
        expect(cmds.length).toBeGreaterThan(0);
        for (const c of cmds) {
            expect(c.inputs.connection.hostKey).toBeUndefined();
        }
    });

    test("one NodeRuntime per node under the fleet, after the release and the proxy LoadBalancer", () => {
        const fleet = cap(b, "dragonfly:index:NodeFleet")[0];
        expect(fleet.parent).toBe(b.stack);
        const runtimes = cap(b, "dragonfly:index:NodeRuntime");
        expect(runtimes.map((r) => r.name)).toEqual(["df-nodes-node-1", "df-nodes-node-2", "df-nodes-node-3"]);
        const release = cap(b, "kubernetes:helm.sh/v3:Release")[0].resource;
        const lb = cap(b, "kubernetes:core/v1:Service")[0].resource;
        for (const r of runtimes) {
            expect(r.parent).toBe(fleet.resource);
            expect(r.dependsOn).toEqual(expect.arrayContaining([release, lb]));
        }
        // maxParallel 2: two lanes; the third node waits for the first only.
        expect(runtimes[2].dependsOn).toContain(runtimes[0].resource);
        expect(runtimes[2].dependsOn).not.toContain(runtimes[1].resource);
        expect(runtimes[1].dependsOn).not.toContain(runtimes[0].resource);
    });

    test("nodes pull through the LoadBalancer's address; sudo for non-root users", () => {
        const cmds = b.resources.filter((r) => r.type === "command:remote:Command" && r.name.endsWith("-runtime"));
        expect(cmds).toHaveLength(3);
        for (const c of cmds) {
            expect(c.inputs.create).toContain(`http://${MOCK_LB_IP}:4001`);
            expect(c.secretPaths).toContain("connection");
        }
        expect(cmds[1].inputs.create.startsWith("sudo -n bash")).toBe(true);
        expect(cmds[0].inputs.create.startsWith("bash")).toBe(true);
    });

    test("the console password is rotated from the first node, after the release and the console Service", () => {
        const rotation = named(b, "df-console-password");
        expect(rotation.parent).toBe(b.stack);
        const release = cap(b, "kubernetes:helm.sh/v3:Release")[0].resource;
        const consoleSvc = cap(b, "kubernetes:core/v1:Service")[1].resource;
        expect(rotation.dependsOn).toEqual(expect.arrayContaining([release, consoleSvc]));
        const cmd = b.resources.find(
            (r) => r.type === "command:remote:Command" && r.name === "df-console-password-rotate",
        );
        expect(cmd?.inputs.create).toContain(`http://192.168.0.11:${MOCK_NODE_PORT}`);
        expect(cmd?.secretPaths).toEqual(expect.arrayContaining(["connection", "stdin"]));
        expect(cmd?.inputs.connection.host).toBe("192.168.0.11");
    });

    test("the pull check runs on the chosen node after its runtime is configured", async () => {
        const check = named(b, "df-verify");
        expect(check.dependsOn).toEqual([named(b, "df-nodes-node-1").resource]);
        const cmd = b.resources.find((r) => r.type === "command:remote:Command" && r.name === "df-verify-pull");
        expect(cmd?.inputs.create).toContain("swr.cn-north-4.myhuaweicloud.com/library/busybox:latest");
        // By default the metrics of every configured node are read (the pool's clients among them).
        for (const host of ["192.168.0.11", "192.168.0.12", "192.168.0.13", "127.0.0.1"]) {
            expect(cmd?.inputs.create).toContain(`http://${host}:4002/metrics`);
        }
        expect(cmd?.inputs.connection.host).toBe("192.168.0.11");
        expect(await resolve(b.stack.verification)).toEqual(MOCK_VERIFICATION);
    });

    test("outputs: noProxy, configuredNodes, secret console credentials", async () => {
        expect(await resolve(b.stack.configuredNodes)).toEqual(["node-1", "node-2", "node-3"]);
        expect(await resolve(b.stack.noProxy)).toBe("localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc");
        expect(await pulumi.isSecret(b.stack.consoleCredentials)).toBe(true);
        const creds = await resolve(b.stack.consoleCredentials);
        expect(creds?.username).toBe("root");
        expect(creds?.password).toBe(mockPassword("df-console-password-password", 20));
        expect(await resolve(b.stack.consoleUrl)).toBe(`http://192.168.0.11:${MOCK_NODE_PORT}`);
    });

    test("no secret value appears in any resource's plain inputs or plain outputs", async () => {
        const secrets = [
            "AAAAfake",
            mockPassword("df-mysql-root-password", 32),
            mockPassword("df-mysql-password", 32),
            mockPassword("df-redis-password", 32),
            mockPassword("df-jwt-key", 48),
            mockPassword("df-console-password-password", 20),
        ];
        // The check itself: the Release's values hold the generated secrets, in plain form.
        const release = b.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release");
        expect(JSON.stringify(release?.inputs)).toContain(secrets[1]);
        expect(await plainLeaks(b.resources, b.captured, secrets)).toEqual([]);
    });
});

describe("a node marked gone", () => {
    const GONE = {
        ...RAW,
        nodes: [{ ...RAW.nodes[0], gone: true }, RAW.nodes[1], RAW.nodes[2]],
        verify: { image: RAW.verify.image },
    };

    test("runs nothing: no console rotation or pull check on it, not in configuredNodes or the default metrics", async () => {
        const g = await build(GONE, "gone");
        const cmds = g.resources.filter((r) => r.type === "command:remote:Command");
        const onGone = cmds.filter((c) => c.inputs.connection?.host === "192.168.0.11").map((c) => c.name);
        expect(onGone).toEqual(["gone-nodes-node-1-runtime"]);
        const rotate = cmds.find((c) => c.name === "gone-console-password-rotate");
        expect(rotate?.inputs.connection.host).toBe("192.168.0.12");
        const pull = cmds.find((c) => c.name === "gone-verify-pull");
        expect(pull?.inputs.connection.host).toBe("192.168.0.12");
        expect(pull?.inputs.create).not.toContain("http://192.168.0.11:4002/metrics");
        expect(named(g, "gone-verify").dependsOn).toEqual([named(g, "gone-nodes-node-2").resource]);
        expect(await resolve(g.stack.configuredNodes)).toEqual(["node-2", "node-3"]);
        const runtimes = cap(g, "dragonfly:index:NodeRuntime");
        expect(runtimes.find((r) => r.name === "gone-nodes-node-1")?.dependsOn ?? []).toEqual([]);
        for (const r of runtimes) {
            expect(r.dependsOn ?? []).not.toContain(runtimes[0].resource);
        }
    });

    test("verify.node cannot name it", () => {
        expect(() => parseStackConfig({ ...GONE, verify: RAW.verify })).toThrow(/verify\.node/);
    });
});

describe("proxy basic auth reaches the nodes as a secret", () => {
    test("credentials go on stdin (secret), never in the command text", async () => {
        const b = await build({ ...RAW, proxy: { basicAuth: true }, verify: undefined }, "auth");
        const generated = ["mysql-root-password", "mysql-password", "redis-password", "jwt-key", "proxy-password"];
        const lengths = [32, 32, 32, 48, 24];
        expect(
            await plainLeaks(
                b.resources,
                b.captured,
                generated.map((g, i) => mockPassword(`auth-${g}`, lengths[i])),
            ),
        ).toEqual([]);
        const cmds = b.resources.filter((r) => r.type === "command:remote:Command" && r.name.endsWith("-runtime"));
        expect(cmds).toHaveLength(3);
        for (const c of cmds) {
            expect(c.secretPaths).toContain("stdin");
            const pw = mockPassword("auth-proxy-password", 24);
            expect(c.inputs.stdin).toBe(`dragonfly:${pw}\n`);
            expect(c.inputs.create).not.toContain(pw);
        }
    });
});

describe("without nodes", () => {
    test("nothing is configured, no rotation is attempted, outputs say so", async () => {
        const b = await build({ nodePool: "p" }, "bare");
        expect(cap(b, "dragonfly:index:NodeRuntime")).toHaveLength(0);
        // The password component is there (its generated password is kept), but nothing runs.
        expect(cap(b, "dragonfly:index:ConsolePassword")).toHaveLength(1);
        expect(cap(b, "command:remote:Command").filter((c) => c.name.startsWith("bare-console-password"))).toHaveLength(
            0,
        );
        expect(await resolve(b.stack.configuredNodes)).toEqual([]);
        expect(await resolve(b.stack.consoleCredentials)).toBeUndefined();
        expect(await resolve(b.stack.verification)).toBeUndefined();
    });
});

describe("cross-key rules", () => {
    test("proxy basic auth with mirror mode is refused (mirrors carry no credentials)", () => {
        const containerdOnly = RAW.nodes.filter((n) => n.runtime !== "docker");
        expect(() =>
            parseStackConfig({ ...RAW, nodes: containerdOnly, runtimeMode: "mirror", proxy: { basicAuth: true } }),
        ).toThrow(/dragonfly-cce:proxy\.basicAuth: got true; allowed: false when runtimeMode is "mirror"/);
    });
    test("verify.node must name a configured node", () => {
        expect(() => parseStackConfig({ ...RAW, verify: { image: "busybox:1", node: "node-9" } })).toThrow(
            /dragonfly-cce:verify\.node: got "node-9"/,
        );
    });
});

describe("SSH host keys reach every connection", () => {
    const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN96xfhu3vfNpMPExwYcEMz87P7yevU99qU2XHbCQF/J";
    const knownHosts = RAW.nodes.map((n) => `${n.host} ${ED}`).join("\n");

    test("pinned: the node runtime, the console rotation and the pull check pin the node's key; no warning", async () => {
        const mark = logMark();
        const b = await build({ ...RAW, ssh: { ...RAW.ssh, knownHosts } }, "pinned");
        const cmds = b.resources.filter((r) => r.type === "command:remote:Command");
        expect(cmds.map((c) => c.name).sort()).toEqual(
            [
                "pinned-console-password-rotate",
                "pinned-nodes-node-1-runtime",
                "pinned-nodes-node-2-runtime",
                "pinned-nodes-node-3-runtime",
                "pinned-verify-pull",
            ].sort(),
        );
        for (const c of cmds) {
            expect({ name: c.name, hostKey: c.inputs.connection.hostKey }).toEqual({ name: c.name, hostKey: ED });
            expect(c.secretPaths).toContain("connection");
        }
        expect(pulumiWarnings(mark)).toEqual([]);
    });

    test("a bastion's key from ssh.knownHosts goes into the proxy connection; without one, a warning", async () => {
        const bastion = { host: "192.168.0.2" };
        const pinned = await build(
            { ...RAW, verify: undefined, ssh: { ...RAW.ssh, bastion, knownHosts: `${knownHosts}\n192.168.0.2 ${ED}` } },
            "bastion-pinned",
        );
        const cmd = pinned.resources.find((r) => r.name === "bastion-pinned-nodes-node-1-runtime");
        expect(cmd?.inputs.connection.proxy.hostKey).toBe(ED);

        const mark = logMark();
        await build(
            { ...RAW, verify: undefined, ssh: { ...RAW.ssh, bastion, hostKeyPolicy: "accept-new-and-report" } },
            "bastion-open",
        );
        expect(pulumiWarnings(mark).filter((w) => w.includes("bastion 192.168.0.2 is NOT checked"))).toHaveLength(1);
    });

    test("accept-new-and-report: unpinned nodes are reported with known_hosts lines ready to paste", async () => {
        const mark = logMark();
        const b = await build(
            {
                ...RAW,
                nodes: [RAW.nodes[0], { ...RAW.nodes[1], hostKey: ED }],
                verify: undefined,
                ssh: { ...RAW.ssh, hostKeyPolicy: "accept-new-and-report" },
            },
            "tofu",
        );
        const reports = b.resources.filter((r) => r.name.endsWith("-hostkey"));
        expect(reports.map((r) => r.name)).toEqual(["tofu-nodes-node-1-hostkey"]);
        expect(reports[0].inputs.create).toContain("/etc/ssh/ssh_host_*_key.pub");
        expect(reports[0].inputs.connection.hostKey).toBeUndefined();
        const runtimes = b.resources.filter((r) => r.name.endsWith("-runtime"));
        expect(runtimes.map((r) => r.inputs.connection.hostKey)).toEqual([undefined, ED]);
        const rt = b.captured.find((c) => c.name === "tofu-nodes-node-1")?.resource as any;
        expect(await resolve(rt.reportedHostKeys)).toEqual([`192.168.0.11 ${MOCK_HOST_KEY}`]);
        const warnings = pulumiWarnings(mark);
        expect(warnings.filter((w) => w.includes("node-1 (192.168.0.11) is not pinned"))).toHaveLength(1);
        const report = warnings.find((w) => w.includes("ready to paste into dragonfly-cce:ssh.knownHosts"));
        expect(report?.split("\n").slice(1)).toEqual([`192.168.0.11 ${MOCK_HOST_KEY}`]);
        expect(warnings.filter((w) => w.includes("node-2"))).toEqual([]);
    });
});
