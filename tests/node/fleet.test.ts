/** NodeFleet / NodeRuntime under Pulumi's mock engine. */
import * as pulumi from "@pulumi/pulumi";
import { parseNodeConfig } from "../../lib/node/config";
import { applyScript, restoreScript } from "../../lib/node/scripts";
import { remoteCommand } from "../../lib/remote/shell";
import { isSecretWrapper, recordResources, Registered } from "../helpers/mockEngine";
import { logMark, pulumiWarnings } from "../helpers/pulumiLog";

const unwrap = (v: any) => (isSecretWrapper(v) ? v.value : v);
/** The script inside a remoteCommand text. */
const scriptOf = (cmd: string) =>
    cmd
        .replace(/^(sudo -n )?bash --norc --noprofile -c '/, "")
        .replace(/' dragonfly-cce$/, "")
        .split("'\\''")
        .join("'");
/** Every registration, with parent, dependencies, options and the wire form of the inputs. */
const all = recordResources({ preview: true });
const logs: string[] = [];

const origInfo = pulumi.log.info;
(pulumi.log as any).info = (msg: string, ...rest: any[]) => {
    logs.push(msg);
    return origInfo(msg, ...rest);
};

// Imported after the mocks, as the Pulumi docs require.

const { NodeFleet, windowPredecessors } =
    require("../../components/nodeFleet") as typeof import("../../components/nodeFleet");
const { NodeRuntime } = require("../../components/nodeRuntime") as typeof import("../../components/nodeRuntime");

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey\n-----END OPENSSH PRIVATE KEY-----\n";

function raw(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        nodes: Array.from({ length: n }, (_, i) => ({ host: `192.168.0.${10 + i}`, name: `node-${i}` })),
        ssh: { privateKey: KEY },
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        ...extra,
    };
}

class Release extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:index:Release", name, {});
        this.registerOutputs({});
    }
}
class LoadBalancer extends pulumi.CustomResource {
    constructor(name: string) {
        super("kubernetes:core/v1:Service", name, {});
    }
}

async function program(
    config: Record<string, unknown>,
    opts: { credentials?: string; nodeAgent?: boolean } = {},
): Promise<Registered[]> {
    const from = all.length;
    const lb = new LoadBalancer("proxy-lb");
    const release = new Release("release");
    const fleet = new NodeFleet("nodes", {
        config: parseNodeConfig(config),
        endpoint: pulumi.output("http://192.168.0.177:4001"),
        proxyCredentials: opts.credentials ? pulumi.secret(opts.credentials) : undefined,
        dependsOn: [release, lb],
        nodeAgent: opts.nodeAgent,
    });
    await new Promise<void>((resolve) =>
        pulumi
            .all([
                fleet.configuredNodes,
                fleet.noProxy,
                pulumi.all([...fleet.nodes.values()].map(({ runtime }) => runtime.summary)),
            ])
            .apply(() => resolve()),
    );
    // Let pending registrations finish.
    await new Promise((r) => setTimeout(r, 50));
    return all.slice(from);
}

const commands = (rs: Registered[]) => rs.filter((r) => r.type === "command:remote:Command");
const byName = (rs: Registered[], name: string) => rs.find((r) => r.name === name)!;

describe("NodeFleet under the mock engine", () => {
    test("one NodeRuntime per node, parented to the fleet, each wrapping one remote Command", async () => {
        const rs = await program(raw(3));
        const fleet = byName(rs, "nodes");
        expect(fleet.type).toBe("dragonfly:index:NodeFleet");
        const runtimes = rs.filter((r) => r.type === "dragonfly:index:NodeRuntime");
        expect(runtimes.map((r) => r.name)).toEqual(["nodes-node-0", "nodes-node-1", "nodes-node-2"]);
        for (const rt of runtimes) {
            expect(rt.parent).toBe(fleet.urn);
            const cmd = byName(rs, `${rt.name}-runtime`);
            expect(cmd.parent).toBe(rt.urn);
        }
        expect(commands(rs)).toHaveLength(3);
        const c0 = byName(rs, "nodes-node-0-runtime").inputs;
        const spec = {
            runtime: "containerd" as const,
            mode: "proxy" as const,
            endpoint: "http://192.168.0.177:4001",
            registries: ["swr.cn-north-4.myhuaweicloud.com"],
            allRegistries: false,
            noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc"],
            proxyAuth: false,
        };
        expect(c0.create).toBe(remoteCommand(applyScript(spec), { sudo: false }));
        expect(c0.update).toBe(c0.create);
        expect(c0.delete).toBe(remoteCommand(restoreScript(spec), { sudo: false }));
        expect(c0.stdin).toBeUndefined();
        expect(c0.logging).toBe("stdoutAndStderr");
        // No triggers: the command provider replaces a command whose triggers change, and a
        // replacement runs the old command's delete (the restore script) after the new apply.
        // A changed script is an update of create/update/delete (tests/real/engine.test.ts).
        expect(c0.triggers).toBeUndefined();
    });

    test("every Command runs after the release and the LoadBalancer, in maxParallel lanes (each after the node maxParallel places before it)", async () => {
        const rs = await program(raw(7, { rollout: { maxParallel: 3 } }));
        const lb = byName(rs, "proxy-lb").urn;
        const cmdUrn = (i: number) => byName(rs, `nodes-node-${i}-runtime`).urn;
        const nodeDeps = (i: number) =>
            byName(rs, `nodes-node-${i}-runtime`)
                .dependencies.filter((d) => d.includes("Command") || d.includes("NodeRuntime"))
                .sort();
        for (let i = 0; i < 7; i++) {
            expect(byName(rs, `nodes-node-${i}-runtime`).dependencies).toContain(lb);
        }
        // Lanes: 0 -> 3 -> 6, 1 -> 4, 2 -> 5. Node i waits for node i-3 only, not a whole batch.
        for (const i of [0, 1, 2]) {
            expect(nodeDeps(i)).toEqual([]);
        }
        for (const i of [3, 4, 5, 6]) {
            expect(nodeDeps(i)).toEqual([cmdUrn(i - 3)]);
        }
        expect(windowPredecessors(7, 3)).toEqual([-1, -1, -1, 0, 1, 2, 3]);
        expect(windowPredecessors(2, 5)).toEqual([-1, -1]);
        for (const r of commands(rs)) {
            expect(r.retainOnDelete).toBe(false);
            expect(r.ignoreChanges).toEqual([]);
        }
    });

    test("a gone node: its Command keeps its name and inputs, retained, every change ignored; outside the lanes", async () => {
        const cfg = raw(4, { rollout: { maxParallel: 1 } });
        (cfg.nodes as any[])[1].gone = true;
        const rs = await program(cfg);
        const gone = byName(rs, "nodes-node-1-runtime");
        expect(gone.retainOnDelete).toBe(true);
        expect(gone.ignoreChanges).toEqual(["*"]);
        // Same name and inputs as before it was gone, so the engine finds it in the state.
        const before = byName(await program(raw(4, { rollout: { maxParallel: 1 } })), "nodes-node-1-runtime");
        expect(gone.urn).toBe(before.urn);
        expect(gone.inputs).toEqual(before.inputs);
        const again = await program(cfg);
        const nodeUrns = (r: Registered) => r.dependencies.filter((d) => /Command|NodeRuntime/.test(d));
        // It depends on nothing; nothing depends on it; the lane goes 0 -> 2 -> 3.
        expect(byName(again, "nodes-node-1-runtime").dependencies).toEqual([]);
        for (const r of commands(again)) {
            expect(nodeUrns(r).filter((d) => d.includes("node-1"))).toEqual([]);
        }
        expect(nodeUrns(byName(again, "nodes-node-2-runtime")).filter((d) => d.includes("Command"))).toEqual([
            byName(again, "nodes-node-0-runtime").urn,
        ]);
        // With accept-new-and-report its host-key report command is held the same way.
        const reported = await program({ ...cfg, ssh: { privateKey: KEY, hostKeyPolicy: "accept-new-and-report" } });
        expect(byName(reported, "nodes-node-1-hostkey").retainOnDelete).toBe(true);
        expect(byName(reported, "nodes-node-1-hostkey").ignoreChanges).toEqual(["*"]);
        expect(byName(reported, "nodes-node-0-hostkey").ignoreChanges).toEqual([]);
        for (const name of ["nodes-node-0-runtime", "nodes-node-2-runtime", "nodes-node-3-runtime"]) {
            expect(byName(again, name).retainOnDelete).toBe(false);
            expect(byName(again, name).ignoreChanges).toEqual([]);
        }
    });

    test("the connection is a secret; non-root users get sudo -n; a bastion becomes proxy", async () => {
        const rs = await program({
            ...raw(2),
            nodes: [
                { host: "192.168.0.10", name: "a" },
                { host: "192.168.0.11", name: "b", user: "ops", port: 2222 },
            ],
            ssh: { privateKey: KEY, bastion: { host: "bastion.example.com", user: "jump" } },
        });
        const a = byName(rs, "nodes-a-runtime");
        const b = byName(rs, "nodes-b-runtime");
        expect(isSecretWrapper(a.wire.connection)).toBe(true);
        expect(isSecretWrapper(b.wire.connection)).toBe(true);
        expect(JSON.stringify([a.wire.create, a.wire.delete, a.wire.triggers])).not.toContain("AAAAkey");
        a.inputs.connection = unwrap(a.inputs.connection);
        b.inputs.connection = unwrap(b.inputs.connection);
        expect(a.inputs.connection).toMatchObject({ host: "192.168.0.10", port: 22, user: "root", privateKey: KEY });
        expect(a.inputs.connection.proxy).toMatchObject({
            host: "bastion.example.com",
            port: 22,
            user: "jump",
            privateKey: KEY,
        });
        expect(b.inputs.connection).toMatchObject({ host: "192.168.0.11", port: 2222, user: "ops" });
        // An unreachable node fails in well under a minute (then: gone: true, see the README).
        for (const c of [a.inputs.connection, a.inputs.connection.proxy, b.inputs.connection]) {
            expect(c).toMatchObject({ perDialTimeout: 10, dialErrorLimit: 3 });
            expect(c.perDialTimeout * c.dialErrorLimit).toBeLessThan(60);
        }
        expect(a.inputs.create.startsWith("bash --norc")).toBe(true);
        expect(b.inputs.create.startsWith("sudo -n bash --norc")).toBe(true);
        expect(b.inputs.delete.startsWith("sudo -n bash --norc")).toBe(true);
    });

    test("proxy credentials travel on stdin as a secret, never in the command text", async () => {
        const rs = await program(raw(1), { credentials: "dfuser:s3cr3t-pass" });
        const c = byName(rs, "nodes-node-0-runtime");
        expect(isSecretWrapper(c.wire.stdin)).toBe(true);
        expect(unwrap(c.inputs.stdin)).toBe("dfuser:s3cr3t-pass\n");
        expect(JSON.stringify([c.inputs.create, c.inputs.delete, c.inputs.triggers])).not.toContain("s3cr3t");
        expect(c.inputs.create).toContain("PROXY_AUTH=yes");
        expect(c.inputs.logging).toBe("stdout");
    });

    test("same config gives identical inputs; a change to one node changes only that node", async () => {
        const strip = (rs: Registered[]) =>
            Object.fromEntries(commands(rs).map((r) => [r.name, JSON.stringify(r.inputs)]));
        const first = strip(await program(raw(3)));
        const again = strip(await program(raw(3)));
        expect(again).toEqual(first);
        const changedCfg = raw(3);
        (changedCfg.nodes as any[])[1].runtime = "docker";
        const changed = strip(await program(changedCfg));
        expect(Object.keys(changed).filter((k) => changed[k] !== first[k])).toEqual(["nodes-node-1-runtime"]);
    });

    test("mirror mode with the local endpoint; outputs configuredNodes and noProxy", async () => {
        const rs = await program(
            raw(2, { runtimeMode: "mirror", mirrorEndpoint: "local", clusterCidrs: ["10.247.0.0/16"] }),
        );
        const c = byName(rs, "nodes-node-0-runtime");
        expect(scriptOf(c.inputs.create)).toContain("\nENDPOINT='http://127.0.0.1:4001'\n");
        expect(scriptOf(c.inputs.create)).toBe(
            applyScript({
                runtime: "containerd",
                mode: "mirror",
                endpoint: "http://127.0.0.1:4001",
                registries: ["swr.cn-north-4.myhuaweicloud.com"],
                allRegistries: false,
                noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc", "10.247.0.0/16"],
                proxyAuth: false,
            }) + "\n".slice(1),
        );
        expect(c.inputs.create).toContain("MODE=mirror");
        const fleet = new NodeFleet("outs", {
            config: parseNodeConfig(raw(2, { clusterCidrs: ["10.247.0.0/16"] })),
            endpoint: "http://1.2.3.4:4001",
        });
        const [names, noProxy] = await new Promise<[string[], string]>((r) =>
            pulumi.all([fleet.configuredNodes, fleet.noProxy]).apply(r),
        );
        expect(names).toEqual(["node-0", "node-1"]);
        expect(noProxy).toBe("localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc,10.247.0.0/16");
        await new Promise<void>((r) =>
            pulumi.all([...fleet.nodes.values()].map(({ runtime }) => runtime.summary)).apply(() => r()),
        );
        await new Promise((r) => setTimeout(r, 50));
    });

    test("an empty node list creates no runtime and says so", async () => {
        logs.length = 0;
        const rs = (await program({})).filter((r) => r.name.startsWith("nodes"));
        expect(rs.map((r) => r.type)).toEqual(["dragonfly:index:NodeFleet"]);
        expect(logs.some((l) => /configured|configures/.test(l) && /nodes is empty/.test(l))).toBe(true);
    });

    test("an empty node list with the node agent: the message says the agent configures the nodes", async () => {
        logs.length = 0;
        const rs = (await program({}, { nodeAgent: true })).filter((r) => r.name.startsWith("nodes"));
        expect(rs.map((r) => r.type)).toEqual(["dragonfly:index:NodeFleet"]);
        const empty = logs.filter((l) => /nodes is empty/.test(l));
        expect(empty).toEqual([
            "nodes is empty: no node is configured over SSH; the node agent (dragonfly-cce:nodeAgent) configures " +
                "the nodes its DaemonSet selects (the agentNodes output lists them)",
        ]);
        expect(empty[0]).not.toMatch(/no node's container runtime is configured/);
    });

    test("Docker Hub routed on Docker nodes: one warning naming them (dockerd checks Docker Hub against system CAs only)", async () => {
        const hub = /registries lists docker\.io, and Docker node\(s\) (.*) cannot pull it through the proxy/;
        const nodes = [
            { host: "192.168.0.10", name: "ctr" },
            { host: "192.168.0.11", name: "dock-a", runtime: "docker" },
            { host: "192.168.0.12", name: "dock-b", runtime: "docker" },
        ];
        let mark = logMark();
        await program({ ...raw(0), nodes, registries: ["swr.cn-north-4.myhuaweicloud.com", "docker.io"] });
        const found = pulumiWarnings(mark).filter((w) => hub.test(w));
        expect(found).toHaveLength(1);
        expect(hub.exec(found[0])?.[1]).toBe("dock-a, dock-b");
        // No Docker node, or Docker Hub not routed: no such warning.
        for (const config of [
            { ...raw(0), nodes: [nodes[0]], registries: ["docker.io"] },
            { ...raw(0), nodes },
        ]) {
            mark = logMark();
            await program(config);
            expect(pulumiWarnings(mark).filter((w) => hub.test(w))).toEqual([]);
        }
    });

    test("hands out each node's plan and runtime together, by name", async () => {
        const fleet = new NodeFleet("by-name", {
            config: parseNodeConfig(raw(2)),
            endpoint: pulumi.output("http://192.168.0.177:4001"),
        });
        expect([...fleet.nodes.keys()]).toEqual(["node-0", "node-1"]);
        const { plan, runtime } = fleet.nodes.get("node-1")!;
        expect(plan.node.name).toBe("node-1");
        expect(plan.node.host).toBe("192.168.0.11");
        expect(runtime).toBeInstanceOf(NodeRuntime);
        const urn = await new Promise<string>((r) => runtime.urn.apply(r));
        expect(urn).toContain("by-name-node-1");
        await new Promise<void>((r) =>
            pulumi.all([...fleet.nodes.values()].map((n) => n.runtime.summary)).apply(() => r()),
        );
        await new Promise((r) => setTimeout(r, 50));
    });
});
