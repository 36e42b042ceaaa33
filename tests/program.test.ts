/**
 * index.ts as `pulumi up` runs it: reads the stack config, builds the stack, exports outputs.
 * Config reaches it the way the CLI passes it (text values, structured ones as JSON).
 */
import * as pulumi from "@pulumi/pulumi";

import { MOCK_LB_IP, recordResources, resolve, setStackOutputs, waitFor } from "./helpers/mockEngine";
import { loadStackConfig } from "../lib/config/pulumi";

const registered = recordResources({ preview: true });

function runProgram(config: Record<string, string>, secretKeys: string[] = []): Record<string, any> {
    pulumi.runtime.setAllConfig(config, secretKeys);
    let exports: Record<string, any> = {};
    jest.isolateModules(() => {
        exports = require("../index");
    });
    return exports;
}

describe("index.ts", () => {
    test("exports every documented output from a config like Pulumi.dev.yaml's", async () => {
        const out = runProgram({
            "dragonfly-cce:nodePool": "test-dragonfly-nodepool",
            "dragonfly-cce:storageClass": "csi-disk",
            "dragonfly-cce:proxy": JSON.stringify({ loadBalancer: { sourceRanges: ["192.168.0.0/16"] } }),
            "dragonfly-cce:console": JSON.stringify({ nodeAddress: "192.168.0.10", nodePort: 30080 }),
        });
        expect(Object.keys(out).sort()).toEqual(
            [
                "chartVersion",
                "configuredNodes",
                "consoleCredentials",
                "consoleNodePort",
                "consoleUrl",
                "namespace",
                "noProxy",
                "proxyAddress",
                "proxyCaCertificate",
                "proxyUrl",
                "releaseName",
                "releaseStatus",
                "verification",
            ].sort(),
        );
        expect(await resolve(out.proxyAddress)).toBe(`${MOCK_LB_IP}:4001`);
        expect(await resolve(out.proxyUrl)).toBe(`http://${MOCK_LB_IP}:4001`);
        expect(await resolve(out.consoleUrl)).toBe("http://192.168.0.10:30080");
        expect(await resolve(out.namespace)).toBe("dragonfly-system");
        expect(await resolve(out.releaseName)).toBe("dragonfly");
        expect(await resolve(out.chartVersion)).toBe("1.7.4");
        expect(await resolve(out.releaseStatus)).toBe("deployed");
        expect(await resolve(out.proxyCaCertificate)).toBeUndefined();
        const lb = registered.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "LoadBalancer",
        );
        expect(lb?.inputs.spec.loadBalancerSourceRanges).toEqual(["192.168.0.0/16"]);
    });

    test("a node pool name that looks like a number stays a string", async () => {
        const before = registered.length;
        const out = runProgram({ "dragonfly-cce:nodePool": "123" });
        await resolve(out.releaseStatus);
        const release = registered.slice(before).find((r) => r.type === "kubernetes:helm.sh/v3:Release");
        expect(release?.inputs.values.manager.nodeSelector).toEqual({ "cce.cloud.com/cce-nodepool": "123" });
    });

    test("bad config fails the program before any resource is registered", () => {
        const before = registered.length;
        expect(() =>
            runProgram({ "dragonfly-cce:nodePool": "p", "dragonfly-cce:console": JSON.stringify({ nodePort: 80 }) }),
        ).toThrow("Invalid config dragonfly-cce:console.nodePort: got 80; allowed: an integer from 30000 to 32767");
        expect(registered.length).toBe(before);
        expect(() => runProgram({})).toThrow(/dragonfly-cce:nodePool: got nothing/);
    });

    describe("nodesFromStack", () => {
        const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";
        const base = {
            "dragonfly-cce:nodePool": "p",
            "dragonfly-cce:ssh": JSON.stringify({ privateKey: KEY }),
            "dragonfly-cce:registries": JSON.stringify(["swr.cn-north-4.myhuaweicloud.com"]),
            "dragonfly-cce:nodes": JSON.stringify([{ name: "edge", host: "192.168.1.5" }]),
            "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "my-org/cce-nodes/dev", output: "nodeIps" }),
        };

        test("nodes listed by another stack's output are configured after the stack's own", async () => {
            setStackOutputs("my-org/cce-nodes/dev", {
                nodeIps: ["192.168.0.21", { host: "192.168.0.22", name: "pool-b", runtime: "docker" }],
            });
            const before = registered.length;
            const out = runProgram(base);
            expect(await resolve(out.configuredNodes)).toEqual(["edge", "192.168.0.21", "pool-b"]);
            const isRuntime = (r: { type: string; name: string }) =>
                r.type === "command:remote:Command" && r.name.endsWith("-runtime");
            await waitFor(() => registered.slice(before).filter(isRuntime).length === 3);
            const mine = registered.slice(before);
            expect(mine.find((r) => r.type === "pulumi:pulumi:StackReference")?.inputs.name).toBe(
                "my-org/cce-nodes/dev",
            );
            const runtimes = mine.filter(isRuntime);
            expect(runtimes.map((r) => r.inputs.connection.host)).toEqual([
                "192.168.1.5",
                "192.168.0.21",
                "192.168.0.22",
            ]);
            expect(runtimes[2].inputs.create).toContain("docker");
        });

        test("a bad entry in the other stack's output is named by its source and index", async () => {
            setStackOutputs("my-org/cce-nodes/dev", { nodeIps: ["192.168.0.21", "not a host!"] });
            pulumi.runtime.setAllConfig(base);
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(
                'Invalid config dragonfly-cce:nodesFromStack (output nodeIps of my-org/cce-nodes/dev)[1].host: got "not a host!"',
            );
        });

        test("a missing output or a non-list is refused", async () => {
            setStackOutputs("my-org/cce-nodes/dev", { other: [] });
            pulumi.runtime.setAllConfig(base);
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(
                /dragonfly-cce:nodesFromStack.output: got "nodeIps"; allowed: an output that stack my-org\/cce-nodes\/dev exports/,
            );
            setStackOutputs("my-org/cce-nodes/dev", { nodeIps: "192.168.0.21" });
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(/allowed: a list of node hosts/);
        });

        test("a malformed nodesFromStack fails at once, before any resource", () => {
            const before = registered.length;
            expect(() =>
                runProgram({
                    ...base,
                    "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "a/b/c/d", output: "x" }),
                }),
            ).toThrow(/dragonfly-cce:nodesFromStack.stack: got "a\/b\/c\/d"/);
            expect(() =>
                runProgram({ ...base, "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "a", outptu: "x" }) }),
            ).toThrow(/dragonfly-cce:nodesFromStack.outptu: got "x"; allowed: no such key/);
            expect(registered.length).toBe(before);
        });
    });
});
