/**
 * The console password rotation script: clean under shellcheck, and run for real (bash, real
 * curl) against a stand-in manager on 127.0.0.1 (tests/console/standInManager.ts).
 *
 * Every run goes through `runScript`, which also proves that no password and no token the
 * stand-in issued appears in the script's stdout or stderr, in the argv or the environment of
 * any program the script starts (a PATH shim records them from /proc), or in the temp dir.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

import {
    ALREADY_ROTATED_SUMMARY,
    ROTATED_SUMMARY,
    RotatePasswordScriptOptions,
    checkConsoleUrl,
    rotatePasswordScript,
    rotatePasswordStdin,
} from "../../lib/console/rotateScript";
import { parseCoreConfig } from "../../lib/cluster/config";
import { run, RunResult } from "../helpers/world/exec";
import { describePrivileged } from "../helpers/privileged";
import { StandInManager, StandInOptions } from "./standInManager";

/** New password with the two characters JSON needs escaped, and a few shells care about. */
const NEW = 'Rot8"ed\\Pw$x!';
/** A distinctive "chart default", so a leak check cannot be fooled by the word `dragonfly`. */
const DEFAULT = "Def-Ault#77";
const FORMER = "Former:Pw_42";
const SOMEONE_ELSES = "ByHand%Pw99";

/** Programs the script may start; each is shimmed to record its argv and environment. */
const SHIMMED = ["curl", "sed", "awk", "mktemp", "rm", "sleep", "cat", "tr", "grep", "head", "env"];

let root: string;
let shimDir: string;
let runNo = 0;

function realPath(cmd: string): string | undefined {
    try {
        return execFileSync("bash", ["-c", `type -P ${cmd}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
        return undefined;
    }
}

interface ScriptRun extends RunResult {
    ms: number;
    /** argv and environment of every program the script started, as recorded by the shims. */
    processLog: string;
}

/**
 * Runs the script the way the SSH login shell does (`bash -c SCRIPT`), stdin = `stdin`, and
 * asserts that none of `secrets` (nor any token the stand-in issued) leaked anywhere.
 */
async function runScript(
    script: string,
    stdin: string,
    secrets: string[],
    manager?: StandInManager,
    args: string[] = [],
): Promise<ScriptRun> {
    const dir = path.join(root, `run-${++runNo}`);
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp, { recursive: true });
    const log = path.join(dir, "processes.log");
    fs.writeFileSync(log, "");
    const started = Date.now();
    const r = await run("bash", ["-c", script, "rotate-console-password", ...args], {
        // HOME: an empty dir. Node gives the child sockets for stdio, so bash believes sshd started
        // it and reads ~/.bashrc (as it does on a node), which is not what is under test here.
        env: { PATH: `${shimDir}:${process.env.PATH}`, HOME: dir, TMPDIR: tmp, SHIM_LOG: log, LANG: "C.UTF-8" },
        input: stdin,
        allowFailure: true,
    });
    const result: ScriptRun = {
        ...r,
        ms: Date.now() - started,
        processLog: fs.readFileSync(log, "utf8"),
    };

    // Each password as it is and as it appears inside a JSON body (`"` and `\` escaped).
    const needles = [...secrets, ...secrets.map((s) => JSON.stringify(s).slice(1, -1)), ...issuedTokens(manager)];
    for (const s of needles) {
        expect(result.stdout).not.toContain(s);
        expect(result.stderr).not.toContain(s);
        expect(result.processLog).not.toContain(s);
    }
    // The shims ran (the check above looked at something), curl among them.
    expect(result.processLog).toContain("ARGV curl");
    // The script's temp dir (token, responses) is gone.
    expect(fs.readdirSync(tmp)).toEqual([]);
    return result;
}

/** Tokens the stand-in saw in bearer headers (so: handed out and used by the script). */
function issuedTokens(manager?: StandInManager): string[] {
    return (manager?.requests ?? [])
        .map((r) => /^Bearer (\S+)$/.exec(r.authorization ?? "")?.[1])
        .filter((t): t is string => t !== undefined);
}

function fastScript(url: string | undefined, extra: Partial<RotatePasswordScriptOptions> = {}): string {
    return rotatePasswordScript({
        consoleUrl: url,
        attempts: 5,
        retryIntervalSeconds: 0.1,
        requestTimeoutSeconds: 2,
        ...extra,
    });
}

const managers: StandInManager[] = [];
async function startManager(opts: StandInOptions): Promise<[StandInManager, string]> {
    const m = new StandInManager(opts);
    managers.push(m);
    return [m, await m.listen()];
}

/** A port nothing listens on (it was free a moment ago). */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function signins(m: StandInManager): number {
    return m.requests.filter((r) => r.url === "/api/v1/users/signin").length;
}

function resets(m: StandInManager): number {
    return m.requests.filter((r) => r.url.endsWith("/reset_password")).length;
}

beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `dragonfly-cce-console-${process.pid}-`));
    shimDir = path.join(root, "bin");
    fs.mkdirSync(shimDir);
    for (const cmd of SHIMMED) {
        const real = realPath(cmd);
        if (real === undefined) {
            continue;
        }
        // Records what `ps` would show (argv) and what the program inherited (environment),
        // both read from /proc by bash builtins, then runs the real program.
        fs.writeFileSync(
            path.join(shimDir, cmd),
            `#!/bin/bash
{
    printf 'ARGV %s' "${cmd}"
    while IFS= read -r -d '' a; do printf ' %s' "$a"; done </proc/$$/cmdline
    printf '\\nENV'
    while IFS= read -r -d '' e; do printf ' %s' "$e"; done </proc/$$/environ
    printf '\\n'
} >>"$SHIM_LOG"
exec ${real} "$@"
`,
            { mode: 0o755 },
        );
    }
});

afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
});

afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
});

describePrivileged("rotation script under shellcheck", { commands: ["shellcheck"] }, () => {
    const variants: [string, RotatePasswordScriptOptions][] = [
        ["URL in the script, defaults", { consoleUrl: "http://192.168.0.10:30080" }],
        ["URL as the first argument", {}],
        ["IPv6 URL, custom bounds", { consoleUrl: "http://[fd00::5]:30080/", attempts: 3, retryIntervalSeconds: 0.5 }],
    ];
    test.each(variants)("%s: no findings", (_name, opts) => {
        const file = path.join(root, `shellcheck-${++runNo}.sh`);
        fs.writeFileSync(file, rotatePasswordScript(opts));
        // shellcheck exits non-zero on any finding, and prints it.
        const out = execFileSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
        expect(out).toBe("");
    });
});

describePrivileged("rotation script against a stand-in manager", { commands: ["bash", "curl", "sed", "awk"] }, () => {
    test("default password: rotates it, by root's id, and prints a summary", async () => {
        const [m, url] = await startManager({
            users: [
                { id: 3, name: "guest", password: "guest-pass-1" },
                { id: 7, name: "root", password: "dragonfly" },
            ],
        });
        // Only the new password on stdin: the script falls back to the chart's `dragonfly`.
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, []), [NEW], m);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${ROTATED_SUMMARY} (root at ${url})\n`);
        expect(m.user("root")?.password).toBe(NEW);
        expect(m.user("guest")?.password).toBe("guest-pass-1");
        const reset = m.requests.filter((q) => q.url.endsWith("/reset_password"));
        expect(reset.map((q) => [q.url, q.status])).toEqual([["/api/v1/users/7/reset_password", 200]]);
        expect(JSON.parse(reset[0].body)).toEqual({ old_password: "dragonfly", new_password: NEW });
        // The last call proves the new password works.
        expect(m.requests[m.requests.length - 1]).toMatchObject({ url: "/api/v1/users/signin", status: 200 });
    });

    test("finds root's id in a list of several accounts", async () => {
        const [m, url] = await startManager({
            ignoreNameFilter: true,
            users: [
                { id: 2, name: "guest", password: "guest-pass-1" },
                { id: 5, name: "rooted", password: "rooted-pass" },
                { id: 9, name: "root", password: DEFAULT },
            ],
        });
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        expect(r.code).toBe(0);
        expect(m.requests.filter((q) => q.url.endsWith("/reset_password")).map((q) => q.url)).toEqual([
            "/api/v1/users/9/reset_password",
        ]);
        expect(m.user("root")?.password).toBe(NEW);
        expect(m.user("guest")?.password).toBe("guest-pass-1");
    });

    test("already rotated: changes nothing and says so", async () => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: NEW }] });
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${ALREADY_ROTATED_SUMMARY} (root at ${url})\n`);
        expect(m.requests.map((q) => [q.method, q.url, q.status])).toEqual([["POST", "/api/v1/users/signin", 200]]);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test("tries the former password before the default", async () => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: FORMER }] });
        const r = await runScript(
            fastScript(url),
            rotatePasswordStdin(NEW, [FORMER, DEFAULT]),
            [NEW, FORMER, DEFAULT],
            m,
        );
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${ROTATED_SUMMARY} (root at ${url})\n`);
        expect(m.user("root")?.password).toBe(NEW);
        const bodies = m.requests
            .filter((q) => q.url === "/api/v1/users/signin")
            .map((q) => JSON.parse(q.body).password);
        expect(bodies).toEqual([NEW, FORMER, NEW]);
    });

    test("wrong password on both: fails clearly, changes nothing", async () => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: SOMEONE_ELSES }] });
        const r = await runScript(
            fastScript(url),
            rotatePasswordStdin(NEW, [DEFAULT]),
            [NEW, DEFAULT, SOMEONE_ELSES],
            m,
        );
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("changed outside this stack");
        expect(r.stderr).toContain("console.rotatePassword to false");
        // The key it names is one the config accepts (lib/console/config.ts).
        expect(r.stderr).toContain("dragonfly-cce:console.password (pulumi config set --secret --path");
        expect(parseCoreConfig({ nodePool: "p", console: { password: SOMEONE_ELSES } }).console.password).toBe(
            SOMEONE_ELSES,
        );
        expect(r.stderr).toContain("manager database");
        expect(resets(m)).toBe(0);
        expect(signins(m)).toBe(2);
        expect(m.user("root")?.password).toBe(SOMEONE_ELSES);
    });

    test("manager answering 503 at first: waits, then rotates", async () => {
        const [m, url] = await startManager({ unavailableFor: 3, users: [{ id: 1, name: "root", password: DEFAULT }] });
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${ROTATED_SUMMARY} (root at ${url})\n`);
        expect(r.stderr.match(/waiting for the manager .* \(HTTP 503, attempt \d of 5\)/g)).toHaveLength(3);
        expect(m.requests.slice(0, 3).map((q) => q.status)).toEqual([503, 503, 503]);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test("manager dropping connections at first: waits, then rotates", async () => {
        const [m, url] = await startManager({
            unavailableFor: 2,
            unavailableAs: "drop",
            users: [{ id: 1, name: "root", password: DEFAULT }],
        });
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        expect(r.code).toBe(0);
        expect(r.stderr.match(/waiting for the manager .* \(no answer, attempt \d of 5\)/g)).toHaveLength(2);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test("nothing listening at first (connection refused): waits, then rotates", async () => {
        const port = await freePort();
        const m = new StandInManager({ port, users: [{ id: 1, name: "root", password: DEFAULT }] });
        managers.push(m);
        const url = `http://127.0.0.1:${port}`;
        const running = runScript(
            fastScript(url, { attempts: 40, retryIntervalSeconds: 0.1 }),
            rotatePasswordStdin(NEW, [DEFAULT]),
            [NEW, DEFAULT],
            m,
        );
        await new Promise((resolve) => setTimeout(resolve, 600));
        await m.listen();
        const r = await running;
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(/waiting for the manager .* \(no answer, attempt 1 of 40\)/);
        expect(r.stdout).toBe(`${ROTATED_SUMMARY} (root at ${url})\n`);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test("manager never ready: gives up after the bound, in bounded time, changing nothing", async () => {
        const [m, url] = await startManager({
            unavailableFor: 1000,
            users: [{ id: 1, name: "root", password: DEFAULT }],
        });
        const r = await runScript(
            fastScript(url, { attempts: 4, retryIntervalSeconds: 0.1 }),
            rotatePasswordStdin(NEW, [DEFAULT]),
            [NEW, DEFAULT],
            m,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`the manager at ${url} is not ready after 4 attempts (HTTP 503)`);
        expect(m.requests).toHaveLength(4);
        expect(r.ms).toBeLessThan(5000);
        expect(m.user("root")?.password).toBe(DEFAULT);
    });

    test("nothing ever listening: gives up after the bound", async () => {
        const url = `http://127.0.0.1:${await freePort()}`;
        const r = await runScript(fastScript(url, { attempts: 3 }), rotatePasswordStdin(NEW, [DEFAULT]), [
            NEW,
            DEFAULT,
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`is not ready after 3 attempts (no answer)`);
        expect(r.stderr.match(/waiting for the manager/g)).toHaveLength(2);
        expect(r.ms).toBeLessThan(5000);
    });

    test("a manager that never answers: the request timeout bounds each try", async () => {
        const [m, url] = await startManager({ hang: true });
        const r = await runScript(
            fastScript(url, { attempts: 2, retryIntervalSeconds: 0.1, requestTimeoutSeconds: 0.5 }),
            rotatePasswordStdin(NEW, [DEFAULT]),
            [NEW, DEFAULT],
            m,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("is not ready after 2 attempts (no answer)");
        expect(m.requests).toHaveLength(2);
        expect(r.ms).toBeLessThan(4000);
    });

    test("user list unavailable: falls back to id 1", async () => {
        const [m, url] = await startManager({
            brokenUserList: true,
            users: [{ id: 1, name: "root", password: DEFAULT }],
        });
        const r = await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("could not look up root's id (HTTP 500); assuming 1");
        expect(m.requests.filter((q) => q.url.endsWith("/reset_password")).map((q) => q.url)).toEqual([
            "/api/v1/users/1/reset_password",
        ]);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test("sends the token as a bearer header on the authenticated calls", async () => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: DEFAULT }] });
        await runScript(fastScript(url), rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m);
        const authed = m.requests.filter((q) => q.url !== "/api/v1/users/signin");
        expect(authed.map((q) => [q.method, q.url.split("?")[0], q.status])).toEqual([
            ["GET", "/api/v1/users", 200],
            ["POST", "/api/v1/users/1/reset_password", 200],
        ]);
        for (const q of authed) {
            expect(q.authorization).toMatch(/^Bearer [A-Za-z0-9_.-]+$/);
        }
    });

    test("takes the URL from its first argument when the script has none", async () => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: DEFAULT }] });
        const script = rotatePasswordScript({ attempts: 2, retryIntervalSeconds: 0.1 });
        const r = await runScript(script, rotatePasswordStdin(NEW, [DEFAULT]), [NEW, DEFAULT], m, [`${url}/`]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${ROTATED_SUMMARY} (root at ${url})\n`);
        expect(m.user("root")?.password).toBe(NEW);
    });

    test.each([
        ["no password at all", ""],
        ["a new password of 7 characters", "Seven77\nDef-Ault#77\n"],
        ["a new password of 21 characters", "TwentyOneCharacters!!\nDef-Ault#77\n"],
        ["a control character", "Tab\tbed-Pw1\nDef-Ault#77\n"],
    ])("bad stdin (%s): exit 2 before any request", async (_name, stdin) => {
        const [m, url] = await startManager({ users: [{ id: 1, name: "root", password: DEFAULT }] });
        const secrets = stdin.split("\n").filter((s) => s !== "");
        // The curl shim check in runScript does not apply: nothing may be called.
        const dir = path.join(root, `bad-${++runNo}`);
        fs.mkdirSync(dir);
        const r = await run("bash", ["-c", fastScript(url)], {
            env: { PATH: process.env.PATH, HOME: dir, TMPDIR: dir },
            input: stdin,
            allowFailure: true,
        });
        const out = r.stdout + r.stderr;
        expect(r.code).toBe(2);
        expect(out).toMatch(/dragonfly-cce: error: /);
        for (const s of secrets) {
            expect(out).not.toContain(s);
        }
        expect(m.requests).toHaveLength(0);
        expect(fs.readdirSync(dir)).toEqual([]);
    });

    test("the script text itself carries no password", () => {
        const text = fastScript("http://127.0.0.1:1");
        for (const s of [NEW, FORMER, DEFAULT]) {
            expect(text).not.toContain(s);
        }
    });
});

describe("script options", () => {
    test.each(["http://10.0.0.5:30080", "https://console.example.com", "http://[fd00::1]:8080/api"])(
        "accepts %s",
        (u) => {
            expect(checkConsoleUrl(u)).toBe(u);
            expect(rotatePasswordScript({ consoleUrl: u })).toContain(`console_url=\${1:-'${u}'}`);
        },
    );

    test.each(["10.0.0.5:30080", "http://x';touch /tmp/p;'", "http://$(id)", "ftp://host", "http://a b"])(
        "rejects %s",
        (u) => {
            expect(() => rotatePasswordScript({ consoleUrl: u })).toThrow(/console URL .* is not allowed/);
        },
    );

    test("strips a trailing slash", () => {
        expect(checkConsoleUrl("http://10.0.0.5:30080/")).toBe("http://10.0.0.5:30080");
    });

    test.each([
        [{ attempts: 0 }, /attempts must be an integer from 1/],
        [{ attempts: 2.5 }, /attempts must be an integer/],
        [{ retryIntervalSeconds: -1 }, /retryIntervalSeconds must be a number/],
        [{ requestTimeoutSeconds: Number.NaN }, /requestTimeoutSeconds must be a number/],
        [{ username: "root;id" }, /user name .* is not allowed/],
    ])("rejects %j", (opts, message) => {
        expect(() => rotatePasswordScript({ consoleUrl: "http://h:1", ...opts })).toThrow(message);
    });

    test("writes the bounds into the script", () => {
        const text = rotatePasswordScript({
            consoleUrl: "http://h:1",
            attempts: 7,
            retryIntervalSeconds: 2.5,
            requestTimeoutSeconds: 3,
        });
        expect(text).toMatch(/^max_attempts=7$/m);
        expect(text).toMatch(/^retry_interval=2.5$/m);
        expect(text).toMatch(/^request_timeout=3$/m);
    });

    test("stdin: new password first, one per line; line breaks refused", () => {
        expect(rotatePasswordStdin("NewPass-1", ["Old-Pass-2", "dragonfly"])).toBe(
            "NewPass-1\nOld-Pass-2\ndragonfly\n",
        );
        expect(rotatePasswordStdin("NewPass-1")).toBe("NewPass-1\ndragonfly\n");
        expect(() => rotatePasswordStdin("New\nPass-1")).toThrow(/line break/);
        expect(() => rotatePasswordStdin("NewPass-1", ["a\rb"])).toThrow(/line break/);
    });
});
