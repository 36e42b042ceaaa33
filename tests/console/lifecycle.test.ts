/**
 * The console password over several `pulumi up`s of the whole stack, against the stand-in
 * manager (tests/console/standInManager.ts): the rotation script really runs (bash, curl) and
 * really changes the stand-in's password.
 *
 * The mock engine keeps no state between runs and ignores resource options, so this file adds
 * the part of the engine that the password's life depends on, as Pulumi documents it: a
 * resource whose inputs did not change keeps its outputs and runs nothing; a changed one is
 * created again (a Command runs its script); an input listed in `ignoreChanges` keeps its value
 * from state; a resource the program no longer declares is deleted.
 */
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as pulumi from "@pulumi/pulumi";

import { DragonflyCce } from "../../components/dragonflyCce";
import { parseCoreConfig } from "../../lib/cluster/config";
import { parseNodeConfig } from "../../lib/node/config";
import { DEFAULT_CONSOLE_PASSWORD } from "../../lib/dragonfly";
import { mockState, recordResources, Registered } from "../helpers/mockEngine";
import { describePrivileged } from "../helpers/privileged";
import { run, RunResult } from "../helpers/world/exec";
import { StandInManager } from "./standInManager";

interface Stored {
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
}

/** What the state holds between runs, by type and name. */
const state = new Map<string, Stored>();
let declared = new Set<string>();
let lastCall = Date.now();
let generated = 0;
/** What each rotation run printed, to check that no password shows in it. */
const scriptOutputs: string[] = [];
let home: string;

function runRotation(create: string, stdin: string): Promise<RunResult> {
    return run("sh", ["-c", create], { env: { PATH: process.env.PATH, HOME: home }, input: stdin, allowFailure: true });
}

/**
 * What the provider answers, given the state: a resource whose inputs (those not in its
 * `ignoreChanges`) are unchanged keeps its outputs; any other is created again.
 */
async function answer(args: pulumi.runtime.MockResourceArgs, _fresh: Record<string, any>, seen: Registered) {
    lastCall = Date.now();
    const key = `${args.type}::${args.name}`;
    declared.add(key);
    const prev = state.get(key);
    const inputs = { ...args.inputs };
    for (const k of seen.ignoreChanges) {
        if (prev !== undefined) {
            inputs[k] = prev.inputs[k];
        }
    }
    if (prev !== undefined && JSON.stringify(prev.inputs) === JSON.stringify(inputs)) {
        return prev.outputs;
    }
    let outputs: Record<string, unknown>;
    if (args.type === "command:remote:Command" && args.name.endsWith("-console-password-rotate")) {
        const r = await runRotation(String(inputs.create), String(inputs.stdin));
        scriptOutputs.push(r.stdout, r.stderr);
        lastCall = Date.now();
        if (r.code !== 0) {
            throw new Error(`the rotation failed: ${r.stderr}`);
        }
        outputs = { ...inputs, stdout: r.stdout, stderr: r.stderr };
    } else if (args.type === "random:index/randomPassword:RandomPassword") {
        generated++;
        outputs = { ...inputs, result: `Gen${generated}-aB3!xyzQ+k` };
    } else if (args.type === "random:index/randomId:RandomId") {
        outputs = { ...inputs, hex: `0000000${++generated}`.slice(-8) };
    } else {
        outputs = { ...inputs, ...mockState({ ...args, inputs }) };
    }
    state.set(key, { inputs, outputs });
    return outputs;
}

interface Config {
    rotatePassword?: boolean;
    password?: string;
    nodes: boolean;
}

let manager: StandInManager;
let consolePort: number;

/** One `pulumi up`: the whole stack under the engine model; returns the credentials output. */
async function up(c: Config): Promise<{ username: string; password: string } | undefined> {
    declared = new Set();
    const core = parseCoreConfig({
        nodePool: "p",
        console: { nodePort: consolePort, rotatePassword: c.rotatePassword ?? true, password: c.password },
    });
    const nodes = parseNodeConfig(
        c.nodes
            ? {
                  nodes: [{ host: "127.0.0.1", name: "n1" }],
                  ssh: { password: "ssh-Pw-1" },
                  registries: ["swr.example.com"],
              }
            : {},
    );
    const stack = new DragonflyCce("dragonfly", { core, nodes });
    const credentials = await (
        stack.consoleCredentials as unknown as {
            promise(): Promise<{ username: string; password: string } | undefined>;
        }
    ).promise();
    // Every registration is in (none for a while): what was not declared is deleted.
    while (Date.now() - lastCall < 300) {
        await new Promise((r) => setTimeout(r, 50));
    }
    for (const key of [...state.keys()]) {
        if (!declared.has(key)) {
            state.delete(key);
        }
    }
    return credentials;
}

function rotateCommandInState(): boolean {
    return [...state.keys()].some((k) => k.endsWith("-console-password-rotate"));
}

describePrivileged("the console password across updates (stand-in manager)", { commands: ["bash", "curl"] }, () => {
    beforeAll(async () => {
        home = mkdtempSync(join(tmpdir(), "dfconsole-life-"));
        recordResources({ adjustState: answer });
        // The console NodePort is where the stand-in listens (a free port in the NodePort range).
        for (let tries = 0; ; tries++) {
            consolePort = 30000 + Math.floor(Math.random() * 2768);
            manager = new StandInManager({ port: consolePort });
            try {
                await manager.listen();
                break;
            } catch (e) {
                if (tries > 20) {
                    throw e;
                }
            }
        }
    });

    afterAll(async () => {
        await manager.close();
        rmSync(home, { recursive: true, force: true });
    });

    let rotated: string;

    test("first up: the console gets the generated password, exported as consoleCredentials", async () => {
        expect(manager.user("root")?.password).toBe(DEFAULT_CONSOLE_PASSWORD);
        const creds = await up({ nodes: true });
        expect(creds?.username).toBe("root");
        rotated = creds!.password;
        expect(rotated).toMatch(/^Gen\d+-/);
        expect(manager.user("root")?.password).toBe(rotated);
    });

    test("rotation turned off: nothing runs, the credentials stay exported and still valid", async () => {
        const requests = manager.requests.length;
        expect(await up({ nodes: true, rotatePassword: false })).toEqual({ username: "root", password: rotated });
        expect(rotateCommandInState()).toBe(false);
        expect(manager.requests.length).toBe(requests);
        expect(manager.user("root")?.password).toBe(rotated);
        // And again: the marker keeps what it recorded while the rotation stays off.
        expect(await up({ nodes: true, rotatePassword: false })).toEqual({ username: "root", password: rotated });
    });

    test("nodes emptied: the credentials stay exported and still valid", async () => {
        expect(await up({ nodes: false })).toEqual({ username: "root", password: rotated });
        expect(manager.user("root")?.password).toBe(rotated);
    });

    test("rotation back on: the same password, already in place (nothing lost, nothing changed)", async () => {
        expect(await up({ nodes: true })).toEqual({ username: "root", password: rotated });
        expect(manager.user("root")?.password).toBe(rotated);
    });

    test("a chosen console.password: the console gets exactly that (the generated one tried as current)", async () => {
        const chosen = 'Chosen"Pw\\_123';
        expect(await up({ nodes: true, password: chosen })).toEqual({ username: "root", password: chosen });
        expect(manager.user("root")?.password).toBe(chosen);
    });

    test("a recovered console.password (changed by hand): the stack uses it, rotation off or on", async () => {
        const byHand = "ByHand%Pw99";
        manager.users[0].password = byHand;
        const requests = manager.requests.length;
        expect(await up({ nodes: true, rotatePassword: false, password: byHand })).toEqual({
            username: "root",
            password: byHand,
        });
        expect(manager.requests.length).toBe(requests);
        expect(await up({ nodes: true, password: byHand })).toEqual({ username: "root", password: byHand });
        expect(manager.user("root")?.password).toBe(byHand);
        // The rotation signed in with it and found it in place: no reset.
        expect(manager.requests.slice(requests).some((r) => r.url.includes("reset_password"))).toBe(false);
    });

    test("no password appeared in any rotation's output", () => {
        expect(scriptOutputs.length).toBeGreaterThan(0);
        for (const out of scriptOutputs) {
            for (const p of [rotated, 'Chosen"Pw\\_123', "ByHand%Pw99"]) {
                expect(out).not.toContain(p);
            }
        }
    });
});
