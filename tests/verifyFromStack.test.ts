/**
 * `verify` with nodes that come only from `nodesFromStack`: the pull check's node is validated
 * against the resolved node list (this stack's `nodes`, then the other stack's), not against this
 * stack's own config alone. Unit tests of the parser, then index.ts under the mock engine with a
 * StackReference that plays the other stack.
 */
import * as pulumi from "@pulumi/pulumi";

import { nodesFromOutput, parseStackConfig, RawStackConfig } from "../lib/config";
import { loadStackConfig } from "../lib/config/pulumi";
import { MOCK_VERIFICATION, recordResources, resolve, setStackOutputs, waitFor } from "./helpers/mockEngine";
import { configErrorOf } from "./helpers/configError";

const registered = recordResources({ preview: true });

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";
const SOURCE = { stack: "my-org/cce-nodes/dev", output: "nodeIps" };
const FROM = "nodesFromStack (output nodeIps of my-org/cce-nodes/dev)";
const IMAGE = "swr.cn-north-4.myhuaweicloud.com/library/busybox:latest";
/** What the other stack exports. */
const STACK_NODES = ["192.168.0.21", { host: "192.168.0.22", name: "pool-b" }];

/** This stack's config: no nodes of its own. */
function raw(verify: unknown): RawStackConfig {
    return {
        nodePool: "p",
        ssh: { privateKey: KEY },
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        nodesFromStack: SOURCE,
        verify,
    };
}

describe("parseStackConfig: verify with nodesFromStack", () => {
    test("before the other stack is read, verify.image and a verify.node from it are accepted", () => {
        expect(parseStackConfig(raw({ image: IMAGE })).verify).toBeUndefined();
        expect(parseStackConfig(raw({ image: IMAGE, node: "pool-b" })).verify).toBeUndefined();
    });

    test("before the other stack is read, everything but the node is still checked", () => {
        const e = configErrorOf(() => parseStackConfig(raw({ image: "https://registry.local/app" })));
        expect(e.key).toBe("verify.image");
        expect(configErrorOf(() => parseStackConfig(raw({ image: IMAGE, nod: "pool-b" }))).key).toBe("verify.nod");
        expect(configErrorOf(() => parseStackConfig(raw({ image: IMAGE, metricsUrls: ["ftp://x/metrics"] }))).key).toBe(
            "verify.metricsUrls[0]",
        );
        expect(configErrorOf(() => parseStackConfig(raw({ node: "pool-b" }))).key).toBe("verify.image");
    });

    test("with the other stack's nodes, the first one is the default and any of them can be chosen", () => {
        const stackNodes = { entries: nodesFromOutput(STACK_NODES, SOURCE), source: SOURCE };
        expect(parseStackConfig(raw({ image: IMAGE }), stackNodes).verify).toEqual({
            image: IMAGE,
            node: "192.168.0.21",
            metricsUrls: [],
        });
        expect(parseStackConfig(raw({ image: IMAGE, node: "pool-b" }), stackNodes).verify?.node).toBe("pool-b");
        // This stack's own nodes come first.
        const mixed = { ...raw({ image: IMAGE }), nodes: [{ host: "192.168.1.5", name: "edge" }] };
        expect(parseStackConfig(mixed, stackNodes).verify?.node).toBe("edge");
    });

    test("a node in neither list is refused, naming both lists and their names", () => {
        const e = configErrorOf(() =>
            parseStackConfig(raw({ image: IMAGE, node: "pool-z" }), {
                entries: nodesFromOutput(STACK_NODES, SOURCE),
                source: SOURCE,
            }),
        );
        expect(e.message).toBe(
            `Invalid config dragonfly-cce:verify.node: got "pool-z"; allowed: a name from nodes and ${FROM}: ` +
                '"192.168.0.21", "pool-b"',
        );
        const empty = configErrorOf(() => parseStackConfig(raw({ image: IMAGE }), { entries: [], source: SOURCE }));
        expect(empty.key).toBe("verify");
        expect(empty.allowed).toBe(`verification needs a node to pull on: list at least one node in nodes and ${FROM}`);
    });

    test("without nodesFromStack, verify is checked against nodes at once", () => {
        const { nodesFromStack: _none, ...own } = raw({ image: IMAGE });
        expect(configErrorOf(() => parseStackConfig(own)).allowed).toBe(
            "verification needs a node to pull on: list at least one node in nodes",
        );
    });
});

describe("index.ts under the mock engine: verify on a node of the other stack", () => {
    function config(verify: unknown): Record<string, string> {
        const r = raw(verify);
        return Object.fromEntries(
            Object.entries(r).map(([k, v]) => [`dragonfly-cce:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
        );
    }

    test("verify.node names a node of the other stack: the pull check runs on it", async () => {
        setStackOutputs(SOURCE.stack, { [SOURCE.output]: STACK_NODES });
        const before = registered.length;
        pulumi.runtime.setAllConfig(config({ image: IMAGE, node: "pool-b" }));
        let exports: Record<string, any> = {};
        jest.isolateModules(() => {
            exports = require("../index");
        });
        expect(await resolve(exports.configuredNodes)).toEqual(["192.168.0.21", "pool-b"]);
        expect(await resolve(exports.verification)).toEqual(MOCK_VERIFICATION);
        const isVerify = (r: { type: string; inputs: Record<string, any> }) =>
            r.type === "command:remote:Command" && String(r.inputs.create).includes("dragonfly-cce-verify");
        await waitFor(() => registered.slice(before).some(isVerify));
        const check = registered.slice(before).find(isVerify);
        expect(check?.inputs.connection.host).toBe("192.168.0.22");
        expect(check?.inputs.create).toContain(IMAGE);
    });

    test("verify.image alone pulls on the other stack's first node", async () => {
        setStackOutputs(SOURCE.stack, { [SOURCE.output]: STACK_NODES });
        pulumi.runtime.setAllConfig(config({ image: IMAGE }));
        const cfg = await Promise.resolve(loadStackConfig());
        expect(cfg.verify).toEqual({ image: IMAGE, node: "192.168.0.21", metricsUrls: [] });
    });

    test("a verify.node the other stack does not list is refused once it is read", async () => {
        setStackOutputs(SOURCE.stack, { [SOURCE.output]: STACK_NODES });
        pulumi.runtime.setAllConfig(config({ image: IMAGE, node: "pool-z" }));
        await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(
            `Invalid config dragonfly-cce:verify.node: got "pool-z"; allowed: a name from nodes and ${FROM}`,
        );
    });
});
