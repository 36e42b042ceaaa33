/**
 * Process helpers for the test world: run a command (optionally inside a network namespace)
 * and collect its output, with a timeout, never through a shell unless asked.
 */
import { spawn } from "child_process";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    /** Network namespace to run in (`ip netns exec NS ...`). */
    netns?: string;
    /** Bytes written to stdin. */
    input?: string | Buffer;
    /** Kill after this many milliseconds (default 60 s). */
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** Do not throw on a non-zero exit code. */
    allowFailure?: boolean;
}

export class CommandError extends Error {
    constructor(
        public readonly argv: string[],
        public readonly result: RunResult,
    ) {
        super(
            `command failed (exit ${result.code}): ${argv.join(" ").slice(0, 300)}\n` +
                `stdout: ${result.stdout.slice(-2000)}\nstderr: ${result.stderr.slice(-2000)}`,
        );
        this.name = "CommandError";
    }
}

/** The argv that runs `cmd args` inside `netns` (or as is without one). */
export function inNetns(netns: string | undefined, cmd: string, args: string[]): string[] {
    return netns ? ["ip", "netns", "exec", netns, cmd, ...args] : [cmd, ...args];
}

/** Runs a command to completion. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const argv = inNetns(opts.netns, cmd, args);
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), {
            stdio: ["pipe", "pipe", "pipe"],
            env: opts.env ?? process.env,
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const result: RunResult = {
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            };
            if (result.code !== 0 && !opts.allowFailure) {
                reject(new CommandError(argv, result));
            } else {
                resolve(result);
            }
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await check();
            if (v !== undefined) {
                return v;
            }
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
        }
        await sleep(100);
    }
}
