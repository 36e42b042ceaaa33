/**
 * index.ts in a preview, with the providers answering as the real ones do in a preview: what
 * they compute on `up` (Service node ports and load-balancer ingress, the Helm release's status,
 * command output, random results) is absent or unknown. Every stack output is then a real value
 * or unknown, never a string holding "undefined", and no input of a resource holds one either.
 * Under `up`, a value the provider should have given and did not fails with a ResourceError
 * naming the resource (a message, not an object graph).
 */
import * as pulumi from "@pulumi/pulumi";

import { freshProgram, ProviderMode, recordResources, Registered, waitFor } from "../helpers/mockEngine";
import { ProgramRunResult, runProgramChild } from "../helpers/programRun";
import { startEarly } from "../helpers/children";
import { testCertificates } from "../helpers/testCa";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFmHNBd3UtBQF1XhUfpfUiWtcgtFyo7TTmKsKpUgsyxU";
const IMAGE = "swr.cn-north-4.myhuaweicloud.com/library/busybox:latest";

/** The new stack: no nodes, a fixed proxy address, a console address, no rotation. */
const NEW_STACK: Record<string, string> = {
    "dragonfly-cce:nodePool": "test-dragonfly-nodepool",
    "dragonfly-cce:chart": JSON.stringify({ path: "./tests/fixtures/dragonfly-chart-1.7.4" }),
    "dragonfly-cce:console": JSON.stringify({ nodeAddress: "192.168.9.9", rotatePassword: false }),
    "dragonfly-cce:proxy": JSON.stringify({ address: "192.168.9.200" }),
};

/** Every feature on: nodes (one gone), host key reports, rotation, the pull check, basic auth, proxy.ca. */
function everything(extra: { proxy?: Record<string, unknown>; console?: Record<string, unknown> } = {}) {
    const ca = testCertificates().ca;
    return {
        "dragonfly-cce:nodePool": "test-dragonfly-nodepool",
        "dragonfly-cce:storageClass": "csi-disk",
        "dragonfly-cce:proxy": JSON.stringify({ basicAuth: true, ca, ...extra.proxy }),
        "dragonfly-cce:console": JSON.stringify({ nodeAddress: "192.168.0.10", ...extra.console }),
        "dragonfly-cce:ssh": JSON.stringify({ privateKey: KEY, hostKeyPolicy: "accept-new-and-report" }),
        "dragonfly-cce:registries": JSON.stringify(["swr.cn-north-4.myhuaweicloud.com", "docker.io"]),
        "dragonfly-cce:nodes": JSON.stringify([
            { name: "node-1", host: "192.168.0.11" },
            { name: "node-2", host: "192.168.0.12", user: "ops", hostKey: HOST_KEY },
            { name: "node-3", host: "192.168.0.13", runtime: "docker" },
            { name: "node-4", host: "192.168.0.14", gone: true },
        ]),
        "dragonfly-cce:verify": JSON.stringify({ image: IMAGE, node: "node-2" }),
    };
}

interface Settled {
    known: boolean;
    value: unknown;
}

/** An Output's state: unknown, or known with its value. Rejects with the Output's error. */
async function settle(o: pulumi.Output<unknown>): Promise<Settled> {
    const impl = o as unknown as { isKnown: Promise<boolean>; promise(withUnknowns?: boolean): Promise<unknown> };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the output did not resolve within 5 s")), 5000);
    });
    try {
        const [known, value] = await Promise.race([Promise.all([impl.isKnown, impl.promise()]), timeout]);
        return { known, value };
    } finally {
        clearTimeout(timer);
    }
}

/** Rejections nobody handled, and rejections handled late (PromiseRejectionHandledWarning). */
const unhandled: string[] = [];
const lateHandled: string[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e instanceof Error ? e.message : String(e));
const onHandled = () => lateHandled.push("a rejection was handled after it was reported");
beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
    process.on("rejectionHandled", onHandled);
});
afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    process.off("rejectionHandled", onHandled);
});

interface Run {
    outputs: Record<string, Settled>;
    resources: Registered[];
}

/** Runs index.ts under mocks answering as `providers` and settles every export. */
async function preview(
    config: Record<string, string>,
    providers: ProviderMode,
    expectedCommands: number,
): Promise<Run> {
    const registered = recordResources({ preview: true, providers });
    pulumi.runtime.setAllConfig(config);
    const exports: Record<string, pulumi.Output<unknown>> = freshProgram(() => require("../../index"));
    const outputs: Record<string, Settled> = {};
    for (const [name, o] of Object.entries(exports)) {
        outputs[name] = await settle(o);
    }
    await waitFor(
        () =>
            registered.some((r) => r.type === "kubernetes:helm.sh/v3:Release") &&
            registered.filter((r) => r.type === "command:remote:Command").length === expectedCommands,
    );
    // Let component outputs (registerOutputs) finish serializing: their errors arrive last.
    await new Promise((r) => setTimeout(r, 200));
    return { outputs, resources: registered };
}

/** Outputs that are known but hold the text "undefined" somewhere. */
function undefinedOutputs(run: Run): string[] {
    return Object.entries(run.outputs)
        .filter(([, s]) => s.known && (JSON.stringify(s.value) ?? "").includes("undefined"))
        .map(([name, s]) => `${name}: ${JSON.stringify(s.value)}`);
}

/** Inputs of registered resources that hold the text "undefined". */
function undefinedInputs(run: Run): string[] {
    return run.resources
        .filter((r) => JSON.stringify(r.inputs).includes("undefined"))
        .map((r) => `${r.type} ${r.name}: ${JSON.stringify(r.inputs).match(/.{0,60}undefined.{0,20}/)?.[0]}`);
}

const known = (value: unknown): Settled => ({ known: true, value });
const UNKNOWN: Settled = { known: false, value: undefined };
const commandNamed = (run: Run, suffix: string) =>
    run.resources.filter((r) => r.type === "command:remote:Command" && r.name.endsWith(suffix));

describe("preview of a new stack, providers answering as in a real preview", () => {
    beforeEach(() => {
        unhandled.length = 0;
        lateHandled.length = 0;
    });

    test("the issue's stack: no throw; computed outputs unknown, never 'undefined' in a URL", async () => {
        const run = await preview(NEW_STACK, "preview", 0);
        expect(unhandled).toEqual([]);
        expect(undefinedOutputs(run)).toEqual([]);
        expect(undefinedInputs(run)).toEqual([]);
        expect(run.outputs.consoleNodePort).toEqual(UNKNOWN);
        expect(run.outputs.consoleUrl).toEqual(UNKNOWN);
        expect(run.outputs.releaseStatus).toEqual(UNKNOWN);
        // A fixed proxy.address is known before any ELB exists.
        expect(run.outputs.proxyAddress).toEqual(known("192.168.9.200:4001"));
        expect(run.outputs.proxyUrl).toEqual(known("http://192.168.9.200:4001"));
        expect(run.outputs.namespace).toEqual(known("dragonfly-system"));
        expect(run.outputs.configuredNodes).toEqual(known([]));
        // Absent by design in this configuration, and known to be.
        expect(run.outputs.verification).toEqual(known(undefined));
        expect(run.outputs.proxyCaCertificate).toEqual(known(undefined));
        expect(run.outputs.consoleCredentials).toEqual(known(undefined));
        expect(lateHandled).toEqual([]);
    });

    test.each(["preview", "dryRun"] as const)(
        "every feature on (%s): no throw, no 'undefined' in outputs or inputs",
        async (providers) => {
            // Commands: 3 runtimes + 1 retained for the gone node, 2 host key reports (node-1,
            // node-3; node-4 is gone but keeps its record), rotation, pull check.
            const run = await preview(everything(), providers, 9);
            expect(unhandled).toEqual([]);
            expect(undefinedOutputs(run)).toEqual([]);
            expect(undefinedInputs(run)).toEqual([]);
            for (const name of [
                "proxyAddress",
                "proxyUrl",
                "consoleNodePort",
                "consoleUrl",
                "releaseStatus",
                "consoleCredentials",
                "verification",
            ]) {
                expect([name, run.outputs[name]]).toEqual([name, UNKNOWN]);
            }
            expect(run.outputs.configuredNodes).toEqual(known(["node-1", "node-2", "node-3"]));
            expect(run.outputs.proxyCaCertificate.known).toBe(true);
            // Scripts built from the unknown proxy address or console port are unknown, not wrong.
            const runtimes = commandNamed(run, "-runtime").filter((r) => !r.name.includes("node-4"));
            expect(runtimes).toHaveLength(3);
            for (const r of runtimes) {
                expect(r.unknownPaths).toEqual(expect.arrayContaining(["create", "update"]));
            }
            expect(commandNamed(run, "-rotate")[0].unknownPaths).toContain("create");
            expect(lateHandled).toEqual([]);
        },
    );

    test("a fixed console.nodePort and proxy.address are known in a preview, and so are the scripts", async () => {
        const run = await preview(
            everything({ proxy: { address: "192.168.9.200" }, console: { nodePort: 30080 } }),
            "preview",
            9,
        );
        expect(unhandled).toEqual([]);
        expect(undefinedOutputs(run)).toEqual([]);
        expect(undefinedInputs(run)).toEqual([]);
        expect(run.outputs.consoleNodePort).toEqual(known(30080));
        expect(run.outputs.consoleUrl).toEqual(known("http://192.168.0.10:30080"));
        expect(run.outputs.proxyUrl).toEqual(known("http://192.168.9.200:4001"));
        const rotate = commandNamed(run, "-rotate")[0];
        expect(rotate.unknownPaths).not.toContain("create");
        expect(rotate.inputs.create).toContain("http://192.168.0.11:30080");
        for (const r of commandNamed(run, "-runtime").filter((x) => !x.name.includes("node-4"))) {
            expect(r.unknownPaths).not.toContain("create");
            expect(r.inputs.create).toContain("192.168.9.200:4001");
        }
    });
});

describe("as the CLI runs it (child process): what a failed run reports", () => {
    /** The four runs, in child processes started together (each test reads its own). */
    const runs: Record<"newStack" | "everything" | "noNodePort" | "noIngress", Promise<ProgramRunResult>> = {} as never;
    beforeAll(() => {
        const up = { config: { "dragonfly-cce:nodePool": "p" }, preview: false, providers: "up" } as const;
        runs.newStack = startEarly(
            runProgramChild({ config: NEW_STACK, preview: true, providers: "preview", missing: "none" }),
        );
        runs.everything = startEarly(
            runProgramChild({ config: everything(), preview: true, providers: "preview", missing: "none" }),
        );
        runs.noNodePort = startEarly(runProgramChild({ ...up, missing: "nodePort" }));
        runs.noIngress = startEarly(runProgramChild({ ...up, missing: "ingress" }));
    });

    test("the issue's preview reports no error and no rejection handled late", async () => {
        const r = await runs.newStack;
        expect(r).toEqual({ errors: [], lateHandled: 0 });
    });

    test("every feature on, the Stack resource's outputs included: no error", async () => {
        const r = await runs.everything;
        expect(r).toEqual({ errors: [], lateHandled: 0 });
    });

    test("up, a Service with no node port: one message, naming the resource", async () => {
        const r = await runs.noNodePort;
        expect(r.errors.length).toBeGreaterThan(0);
        for (const e of r.errors) {
            expect(e).toEqual({
                message: expect.stringMatching(/Service dragonfly-manager-console has no node port$/),
                printedAsMessage: true,
                resource: "dragonfly-console",
            });
        }
    });

    test("up, a LoadBalancer with no ingress: one message, naming the resource", async () => {
        const r = await runs.noIngress;
        expect(r.errors.length).toBeGreaterThan(0);
        for (const e of r.errors) {
            expect(e).toEqual({
                message: expect.stringMatching(
                    /Service dragonfly-client-proxy has no load balancer address yet; check the ELB annotations, or set dragonfly-cce:proxy.address$/,
                ),
                printedAsMessage: true,
                resource: "dragonfly-proxy",
            });
        }
    });
});
