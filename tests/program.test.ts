/**
 * index.ts as `pulumi up` runs it: reads the stack config, builds the stack, exports outputs.
 * Config reaches it the way the CLI passes it (text values, structured ones as JSON).
 */
import * as pulumi from "@pulumi/pulumi";

import { MOCK_LB_IP, recordResources, resolve } from "./helpers/mockEngine";

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
});
