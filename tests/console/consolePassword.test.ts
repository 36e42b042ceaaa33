/**
 * ConsolePassword under Pulumi's mock engine: what it registers, what is secret, what reaches
 * plain inputs (nothing secret may), and that the same inputs give the same resources.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";

import { ConsolePassword, ConsolePasswordArgs } from "../../components/consolePassword";
import {
    CONSOLE_PASSWORD_MAX_LENGTH,
    CONSOLE_PASSWORD_MIN_LENGTH,
    checkConsolePassword,
} from "../../lib/console/password";
import { DEFAULT_CONSOLE_PASSWORD } from "../../lib/dragonfly";
import { ROTATED_SUMMARY } from "../../lib/console/rotateScript";
import { ConfigError } from "../../lib/config/validate";
import { isSecretWrapper, recordResources, Registered } from "../helpers/mockEngine";

/** A deterministic stand-in for random's generator: `length` characters from the allowed sets. */
function fakeRandomPassword(name: string, inputs: Record<string, unknown>): string {
    const sets = [
        "abcdefghijkmnopqrstuvwxyz",
        "ABCDEFGHJKLMNPQRSTUVWXYZ",
        "23456789",
        String(inputs.overrideSpecial ?? "!@#"),
    ];
    const bytes = createHash("sha256").update(name).digest();
    let out = "";
    for (let i = 0; i < Number(inputs.length); i++) {
        const set = sets[i % sets.length];
        out += set[bytes[i % bytes.length] % set.length];
    }
    return out;
}

/**
 * One mock engine for the whole file: a component registers its outputs asynchronously, after
 * the test that built it may have finished, so the engine must not change under it. Each test
 * builds components with names of its own and looks only at those. The generator gives
 * {@link fakeRandomPassword}; the rotation prints what the script prints when it rotated.
 */
let all: Registered[] = [];
function useMocks(): void {
    all = recordResources({
        adjustState(args, state) {
            if (args.type === "random:index/randomPassword:RandomPassword") {
                return { ...state, result: fakeRandomPassword(args.name, args.inputs) };
            }
            if (args.type === "command:remote:Command") {
                return { ...state, stdout: `${ROTATED_SUMMARY} (root at http://192.168.0.10:30080)\n`, stderr: "" };
            }
            return state;
        },
    });
}

/** A registration with its inputs as the mocks received them (secrets wrapped). */
interface Seen {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Every string reachable in `v` without going through a secret. */
function plainStrings(v: unknown): string[] {
    if (isSecretWrapper(v)) {
        return [];
    }
    if (typeof v === "string") {
        return [v];
    }
    if (Array.isArray(v)) {
        return v.flatMap(plainStrings);
    }
    if (typeof v === "object" && v !== null) {
        return Object.values(v).flatMap(plainStrings);
    }
    return [];
}

const CONNECTION = { host: "192.168.0.10", user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n" };
const URL = "http://192.168.0.10:30080";

function baseArgs(extra: Partial<ConsolePasswordArgs> = {}, triggers?: unknown[]): ConsolePasswordArgs {
    return { rotation: { connection: CONNECTION, consoleUrl: URL, triggers }, ...extra };
}

/** Builds the component and waits until its children are registered; returns them too. */
async function build(name: string, args: ConsolePasswordArgs): Promise<[ConsolePassword, Seen[]]> {
    const from = all.length;
    const c = new ConsolePassword(name, args);
    await valueOf(c.credentials);
    await valueOf(c.command!.urn);
    const mine = all
        .slice(from)
        .filter((r) => r.name === name || r.name.startsWith(`${name}-`))
        .map((r) => ({ type: r.type, name: r.name, inputs: r.received }));
    return [c, mine];
}

function one(resources: Seen[], type: string): Seen {
    const found = resources.filter((r) => r.type === type);
    expect(found).toHaveLength(1);
    return found[0];
}

describe("ConsolePassword (mock engine)", () => {
    beforeAll(useMocks);

    test("generates a password the manager accepts and that is safe in JSON", async () => {
        const [c, mine] = await build("gen", baseArgs());
        const rp = one(mine, "random:index/randomPassword:RandomPassword");
        const length = Number(rp.inputs.length);
        expect(length).toBeGreaterThanOrEqual(CONSOLE_PASSWORD_MIN_LENGTH);
        expect(length).toBeLessThanOrEqual(CONSOLE_PASSWORD_MAX_LENGTH);
        expect(rp.inputs.special).toBe(true);
        expect(String(rp.inputs.overrideSpecial)).not.toMatch(/["\\\s]/);
        const password = await valueOf(c.password);
        expect(password).toBe(fakeRandomPassword(rp.name, rp.inputs));
        expect(password).toHaveLength(length);
        expect(checkConsolePassword("console.password", password)).toBe(password);
    });

    test("the command's plain inputs carry no secret; stdin, connection and triggers are secret", async () => {
        const former = "Former:Pw_42";
        const [c, mine] = await build("plain", baseArgs({ formerPasswords: [former] }));
        const password = await valueOf(c.password);
        expect(mine.map((r) => r.type).sort()).toEqual([
            "command:remote:Command",
            "dragonfly:index:ConsolePassword",
            "random:index/randomId:RandomId",
            "random:index/randomPassword:RandomPassword",
        ]);
        const cmd = one(mine, "command:remote:Command");

        expect(typeof cmd.inputs.create).toBe("string");
        // Run by bash whatever the node's login shell: `bash ... -c '<script>' dragonfly-cce`.
        const wrapped = cmd.inputs.create as string;
        const m = /^bash --norc --noprofile -c '([\s\S]*)' dragonfly-cce$/.exec(wrapped);
        expect(m).not.toBeNull();
        const create = (m as RegExpExecArray)[1].replace(/'\\''/g, "'");
        expect(create).toMatch(/^#!\/usr\/bin\/env bash\n/);
        expect(create).toContain("set -euo pipefail");
        expect(create).toContain(`console_url=\${1:-'${URL}'}`);

        expect(isSecretWrapper(cmd.inputs.stdin)).toBe(true);
        expect((cmd.inputs.stdin as { value: unknown }).value).toBe(
            `${password}\n${former}\n${DEFAULT_CONSOLE_PASSWORD}\n`,
        );
        expect(isSecretWrapper(cmd.inputs.connection)).toBe(true);
        expect((cmd.inputs.connection as { value: unknown }).value).toMatchObject(CONNECTION);
        expect(isSecretWrapper(cmd.inputs.triggers)).toBe(true);
        expect((cmd.inputs.triggers as { value: unknown }).value).toEqual([password]);

        // Nothing secret anywhere outside a secret, in any resource's inputs.
        for (const r of mine) {
            for (const s of plainStrings(r.inputs)) {
                expect(s).not.toContain(password);
                expect(s).not.toContain(former);
                expect(s).not.toContain("PRIVATE KEY");
            }
        }
        // The engine sees the same: the resource's outputs are secret too.
        expect(await pulumi.isSecret(c.command!.stdin)).toBe(true);
        expect(await pulumi.isSecret(c.command!.connection)).toBe(true);
        expect(await pulumi.isSecret(c.command!.create)).toBe(false);
    });

    test("outputs: username root, password and credentials secret, after the command ran", async () => {
        const [c] = await build("outputs", baseArgs());
        const password = await valueOf(c.password);
        expect(await valueOf(c.username)).toBe("root");
        expect(await pulumi.isSecret(c.password)).toBe(true);
        expect(await pulumi.isSecret(c.credentials)).toBe(true);
        expect(await valueOf(c.credentials)).toEqual({ username: "root", password });
        // The password output depends on the command, not only on the generator.
        const deps = await (c.password as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources();
        expect([...deps]).toContain(c.command!);
    });

    test("children are parented to the component", async () => {
        const [c] = await build("console", baseArgs());
        expect(await valueOf(c.urn)).toMatch(/::dragonfly:index:ConsolePassword::console$/);
        expect(await valueOf(c.command!.urn)).toMatch(
            /::dragonfly:index:ConsolePassword\$command:remote:Command::console-rotate$/,
        );
        expect(await valueOf(c.randomPassword.urn)).toMatch(
            /::dragonfly:index:ConsolePassword\$random:index\/randomPassword:RandomPassword::console-password$/,
        );
    });

    test("an explicit password is used as is; the generator stays, its password tried as the current one", async () => {
        const [c, mine] = await build("given", baseArgs({ password: pulumi.secret("Given-Pass_123") }));
        expect(mine.map((r) => r.type).sort()).toEqual([
            "command:remote:Command",
            "dragonfly:index:ConsolePassword",
            "random:index/randomId:RandomId",
            "random:index/randomPassword:RandomPassword",
        ]);
        expect(await valueOf(c.password)).toBe("Given-Pass_123");
        const generated = await valueOf(c.randomPassword.result);
        const cmd = one(mine, "command:remote:Command");
        // The console may have the generated password from an earlier rotation: tried before the default.
        expect((cmd.inputs.stdin as { value: unknown }).value).toBe(
            `Given-Pass_123\n${generated}\n${DEFAULT_CONSOLE_PASSWORD}\n`,
        );
        expect(plainStrings(cmd.inputs).some((s) => s.includes("Given-Pass_123"))).toBe(false);
        expect(plainStrings(cmd.inputs).some((s) => s.includes(generated))).toBe(false);
    });

    test.each([
        ["7 characters", "Short-7"],
        ["21 characters", "Twenty-One-Characters"],
        ["a space", "has a space"],
        ["a newline", "line\nbreak-pw"],
    ])("refuses an explicit password of %s, without showing it", (_name, bad) => {
        let error: unknown;
        try {
            new ConsolePassword("bad", baseArgs({ password: bad }));
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).key).toBe("console.password");
        expect((error as ConfigError).message).toContain("8 to 20");
        expect((error as ConfigError).message).not.toContain(bad);
    });

    test("the same inputs give the same resources on a second run", async () => {
        // Twice the same name: the mock engine, like a second `pulumi up`, accepts it.
        const snapshot = async (): Promise<Seen[]> =>
            (await build("same", baseArgs({ formerPasswords: ["Former:Pw_42"] }, ["release-1"])))[1];
        const first = await snapshot();
        const second = await snapshot();
        expect(first.map((r) => r.type).sort()).toEqual([
            "command:remote:Command",
            "dragonfly:index:ConsolePassword",
            "random:index/randomId:RandomId",
            "random:index/randomPassword:RandomPassword",
        ]);
        expect(second).toEqual(first);
    });

    test("a new password or an extra trigger changes the triggers (the script runs again)", async () => {
        const triggersOf = async (name: string, args: ConsolePasswordArgs): Promise<unknown> => {
            const [, mine] = await build(name, args);
            return (one(mine, "command:remote:Command").inputs.triggers as { value: unknown }).value;
        };
        expect(await triggersOf("t1", baseArgs({ password: "First-Pass-1" }))).toEqual(["First-Pass-1"]);
        expect(await triggersOf("t2", baseArgs({ password: "Second-Pass-2" }))).toEqual(["Second-Pass-2"]);
        expect(await triggersOf("t3", baseArgs({ password: "Second-Pass-2" }, ["db-2"]))).toEqual([
            "Second-Pass-2",
            "db-2",
        ]);
    });
});

describe("checkConsolePassword", () => {
    test.each(["Eight8-8", "TwentyCharacters-20!", 'quo"te\\back'])("accepts %j", (p) => {
        expect(checkConsolePassword("console.password", p)).toBe(p);
    });

    test.each([
        ["too short", "Seven-7"],
        ["too long", "Twenty-One-Characters"],
        ["a space", "with space1"],
        ["a tab", "with\ttab-1"],
        ["non-ASCII", "pässwörd-1"],
    ])("refuses %s without showing the value", (_name, p) => {
        expect(() => checkConsolePassword("console.password", p)).toThrow(ConfigError);
        try {
            checkConsolePassword("console.password", p);
        } catch (e) {
            expect((e as ConfigError).message).toMatch(
                /^Invalid config dragonfly-cce:console\.password: got \[secret\]/,
            );
            expect((e as ConfigError).message).not.toContain(p);
        }
    });

    test("refuses a non-string", () => {
        expect(() => checkConsolePassword("console.password", 12345678)).toThrow(/got \[secret\]/);
    });
});
