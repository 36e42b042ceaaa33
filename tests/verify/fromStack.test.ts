/**
 * `verify` with nodes that come only from `nodesFromStack`: the pull check's node is validated
 * against the resolved node list (this stack's `nodes`, then the other stack's), not against this
 * stack's own config alone. Unit tests of the parser, then index.ts under the mock engine with a
 * StackReference that plays the other stack.
 */
import * as pulumi from "@pulumi/pulumi";

import { nodesFromOutput, parseStackConfig, RawStackConfig, withoutSecretOutput } from "../../lib/config";
import { loadStackConfig } from "../../lib/config/pulumi";
import { ConfigError } from "../../lib/config/validate";
import {
    freshProgram,
    MOCK_VERIFICATION,
    recordResources,
    resolve,
    setStackOutputs,
    waitFor,
} from "../helpers/mockEngine";
import { configErrorOf } from "../helpers/configError";
import { logMark, pulumiWarnings } from "../helpers/pulumiLog";

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

describe("a nodesFromStack output the other stack exports as a secret", () => {
    const SECRET_NODES = ["10.9.8.7", { host: "10.9.8.6", name: "vault-a" }, { host: "10.9.8.300", runtime: "docker" }];
    const parsed =
        (verify: unknown, nodes: unknown[] = SECRET_NODES) =>
        () =>
            parseStackConfig(raw(verify), { entries: nodesFromOutput(nodes, SOURCE), source: SOURCE });
    const hidden = (f: () => unknown, nodes: unknown[] = SECRET_NODES) =>
        withoutSecretOutput(configErrorOf(f), nodes, SOURCE);

    test("an invalid entry is named by its index, its value is not shown", () => {
        const plain = configErrorOf(parsed({ image: IMAGE }));
        expect(plain.message).toContain('"10.9.8.300"');
        const e = hidden(parsed({ image: IMAGE }));
        expect(e.key).toBe(`${FROM}[2].host`);
        expect(e.value).toBe("[secret] (output nodeIps of my-org/cce-nodes/dev is a secret)");
        expect(e.message).not.toMatch(/10\.9\.8/);
    });

    test("the names verify.node may take are masked; what this stack's own config says stays", () => {
        const valid = SECRET_NODES.slice(0, 2);
        const plain = configErrorOf(parsed({ image: IMAGE, node: "pool-z" }, valid));
        expect(plain.allowed).toContain('"10.9.8.7", "vault-a"');
        const e = hidden(parsed({ image: IMAGE, node: "pool-z" }, valid), valid);
        expect(e.message).toBe(
            `Invalid config dragonfly-cce:verify.node: got "pool-z"; allowed: a name from nodes and ${FROM}: ` +
                '"[secret]", "[secret]"',
        );
    });

    test("a whole output of the wrong shape is not shown", () => {
        const e = withoutSecretOutput(
            configErrorOf(() => nodesFromOutput("10.9.8.7,10.9.8.6", SOURCE)),
            "10.9.8.7,10.9.8.6",
            SOURCE,
        );
        expect(e.key).toBe(FROM);
        expect(e.message).not.toContain("10.9.8");
    });

    test("a string is masked only where it stands whole, and runtime names are not secret", () => {
        const e = withoutSecretOutput(
            new ConfigError("verify.node", '"n1"', 'one of "n1", "n10", "docker" (10.0.0.1 and 10.0.0.10)'),
            [{ host: "10.0.0.1", name: "n1", runtime: "docker" }],
            SOURCE,
        );
        expect(e.value).toBe('"[secret]"');
        expect(e.allowed).toBe('one of "[secret]", "n10", "docker" ([secret] and 10.0.0.10)');
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
        const exports: Record<string, any> = freshProgram(() => require("../../index"));
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

    test("a secret output: errors do not repeat its values, and a valid one warns that node names are visible", async () => {
        setStackOutputs(SOURCE.stack, { [SOURCE.output]: ["10.9.8.7", "10.9.8.300"] }, [SOURCE.output]);
        pulumi.runtime.setAllConfig(config({ image: IMAGE }));
        const bad = await Promise.resolve(loadStackConfig()).catch((e: Error) => e);
        expect(bad).toBeInstanceOf(ConfigError);
        expect((bad as ConfigError).key).toBe(`${FROM}[1].host`);
        expect((bad as Error).message).not.toContain("10.9.8");

        setStackOutputs(SOURCE.stack, { [SOURCE.output]: ["10.9.8.7"] }, [SOURCE.output]);
        const mark = logMark();
        const cfg = await Promise.resolve(loadStackConfig());
        expect(cfg.nodes.nodes.map((n) => n.host)).toEqual(["10.9.8.7"]);
        expect(pulumiWarnings(mark)).toEqual([
            expect.stringContaining(`nodesFromStack: output nodeIps of my-org/cce-nodes/dev is a secret`),
        ]);
        expect(pulumiWarnings(mark)[0]).not.toContain("10.9.8.7");

        setStackOutputs(SOURCE.stack, { [SOURCE.output]: ["10.9.8.7"] });
        const plainMark = logMark();
        await Promise.resolve(loadStackConfig());
        expect(pulumiWarnings(plainMark)).toEqual([]);
    });
});
