/**
 * Mock-engine tests of PullVerification: one remote command under the component, a secret
 * connection, the verification script as command text (through sudo -n for non-root users),
 * triggers that change with the image, node or node configuration only, and `verification`
 * parsed from the command's stdout. (A missing or malformed line is covered by the parser's
 * tests in result.test.ts.)
 */
import * as pulumi from "@pulumi/pulumi";
import { remoteCommand } from "../../lib/remote/shell";
import { verifyScript, VERIFY_OUTPUT_PREFIX } from "../../lib/verify/script";
import { recordResources } from "../helpers/mockEngine";

let stdout = "";
/** Every registration; a Command prints `stdout`. */
const seen = recordResources({
    adjustState: (args, state) => (args.type === "command:remote:Command" ? { ...state, stdout, stderr: "" } : state),
});

// Imported after setMocks, as the Pulumi testing guide says.

const { PullVerification } =
    require("../../components/pullVerification") as typeof import("../../components/pullVerification");

function resolve<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((r) => o.apply((v) => r(v)));
}

const CONNECTION = { host: "192.168.0.21", port: 22, user: "root", privateKey: "PRIVATE-KEY-MATERIAL" };

function line(over: Record<string, unknown> = {}): string {
    return (
        VERIFY_OUTPUT_PREFIX +
        JSON.stringify({
            image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
            node: "node-a",
            runtime: "containerd",
            pullSeconds: 3.25,
            removedPreviousCopy: true,
            throughDragonfly: true,
            proxyRequests: 4,
            traffic: { remotePeer: 1000, localPeer: 0, backToSource: 24 },
            ...over,
        })
    );
}

async function make(
    name: string,
    over: Partial<import("../../components/pullVerification").PullVerificationArgs> = {},
) {
    const before = seen.length;
    const v = new PullVerification(name, {
        connection: CONNECTION,
        sudo: false,
        runtime: "containerd",
        image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
        node: "node-a",
        triggers: ["node-config-hash-1"],
        ...over,
    });
    const verification = await resolve(v.verification);
    await new Promise((r) => setTimeout(r, 20));
    return { v, verification, registered: seen.slice(before) };
}

describe("PullVerification (mock engine)", () => {
    test("registers one remote command under the component, with a secret connection", async () => {
        stdout = `pulling...\n${line()}\n`;
        const { registered } = await make("verify1");
        expect(registered.map((r) => r.type)).toEqual(["dragonfly:index:PullVerification", "command:remote:Command"]);
        const cmd = registered[1];
        expect(cmd.name).toBe("verify1-pull");
        expect(cmd.secretPaths).toContain("connection");
        expect(cmd.inputs.connection.host).toBe("192.168.0.21");
        expect(cmd.inputs.delete).toBeUndefined();
        // The command text is the verification script run by bash; no secret in it.
        expect(cmd.inputs.create).toBe(
            remoteCommand(
                verifyScript({
                    image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
                    node: "node-a",
                    runtime: "containerd",
                }),
                { sudo: false },
            ),
        );
        expect(cmd.inputs.create).toContain("\nRUNTIME=containerd\n");
        expect(cmd.inputs.create).not.toContain("PRIVATE-KEY-MATERIAL");
    });

    test("parses the verification output", async () => {
        stdout = `${line()}\n`;
        const { verification } = await make("verify2");
        expect(verification).toEqual({
            image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
            node: "node-a",
            runtime: "containerd",
            pullSeconds: 3.25,
            removedPreviousCopy: true,
            throughDragonfly: true,
            proxyRequests: 4,
            traffic: { remotePeer: 1000, localPeer: 0, backToSource: 24 },
        });
    });

    test("a non-root SSH user runs it through sudo -n; Docker nodes pull with docker", async () => {
        stdout = `${line({ runtime: "docker" })}\n`;
        const { registered } = await make("verify3", { sudo: true, runtime: "docker" });
        expect(registered[1].inputs.create).toMatch(/^sudo -n bash /);
        expect(registered[1].inputs.create).toBe(
            remoteCommand(
                verifyScript({
                    image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
                    node: "node-a",
                    runtime: "docker",
                }),
                { sudo: true },
            ),
        );
        expect(registered[1].inputs.create).toContain("\nRUNTIME=docker\n");
    });

    test("the inputs are stable for the same arguments and change with image, node or node configuration", async () => {
        stdout = `${line()}\n`;
        const a = (await make("s1")).registered[1].inputs;
        const same = (await make("s2")).registered[1].inputs;
        expect(same.create).toBe(a.create);
        expect(same.triggers).toEqual(a.triggers);
        const otherConfig = (await make("s3", { triggers: ["node-config-hash-2"] })).registered[1].inputs;
        expect(otherConfig.create).toBe(a.create);
        expect(otherConfig.triggers).not.toEqual(a.triggers);
        const otherImage = (await make("s4", { image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.1" })).registered[1]
            .inputs;
        expect(otherImage.triggers).not.toEqual(a.triggers);
        expect(otherImage.create).not.toBe(a.create);
        const otherNode = (await make("s5", { node: "node-b" })).registered[1].inputs;
        expect(otherNode.triggers).not.toEqual(a.triggers);
    });
});
