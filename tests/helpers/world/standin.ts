/**
 * Parent side of the Dragonfly client stand-in (see standin-server.js): starts it in a
 * namespace and reads what it recorded.
 */
import { ChildProcess, spawn } from "child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";

export interface StandinRecord {
    time: number;
    /** `proxy` (absolute-form HTTP), `connect` (CONNECT and requests inside it), `mirror`, `rejected`. */
    via: "proxy" | "connect" | "mirror" | "rejected";
    method: string;
    /** Upstream host:port the request was for. */
    host: string;
    path: string;
    headers: Record<string, string>;
    error?: string;
}

export interface StandinOptions {
    netns: string;
    host: string;
    port: number;
    metricsPort: number;
    /** The stand-in's own interception certificate (the node does NOT trust it). */
    cert: string;
    key: string;
    /** CA it trusts for HTTPS upstreams. */
    upstreamCa?: string;
    dir: string;
}

export class Standin {
    readonly recordsFile: string;
    readonly logFile: string;
    private child?: ChildProcess;

    constructor(readonly opts: StandinOptions) {
        this.recordsFile = join(opts.dir, "standin-records.jsonl");
        this.logFile = join(opts.dir, "standin.log");
    }

    get endpoint(): string {
        return `http://${this.opts.host}:${this.opts.port}`;
    }

    get metricsUrl(): string {
        return `http://${this.opts.host}:${this.opts.metricsPort}/metrics`;
    }

    async start(): Promise<void> {
        const o = this.opts;
        writeFileSync(this.recordsFile, "");
        const cfgFile = join(o.dir, "standin.json");
        writeFileSync(
            cfgFile,
            JSON.stringify({
                listen: { host: o.host, port: o.port },
                metrics: { host: o.host, port: o.metricsPort },
                records: this.recordsFile,
                cert: o.cert,
                key: o.key,
                upstreamCa: o.upstreamCa,
            }),
        );
        const log = openSync(this.logFile, "a");
        const child = spawn(
            "ip",
            ["netns", "exec", o.netns, process.execPath, join(__dirname, "standin-server.js"), cfgFile],
            { stdio: ["ignore", "pipe", log] },
        );
        closeSync(log);
        this.child = child;
        const err = (): string => readFileSync(this.logFile, "utf8").slice(-2000);
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`stand-in did not start: ${err()}`)), 15_000);
            child.stdout?.on("data", (d: Buffer) => {
                if (d.toString().includes("ready")) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            child.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`stand-in exited with ${code}: ${err()}`));
            });
        });
        child.removeAllListeners("exit");
    }

    /** Number of records so far: `since(mark)` gives the ones after it. */
    mark(): number {
        return this.all().length;
    }

    since(mark: number): StandinRecord[] {
        return this.all().slice(mark);
    }

    all(): StandinRecord[] {
        if (!existsSync(this.recordsFile)) {
            return [];
        }
        return readFileSync(this.recordsFile, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as StandinRecord);
    }

    /** The stand-in's stderr (its crashes, if any). */
    log(): string {
        return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8") : "";
    }

    /** True while the stand-in process runs. */
    running(): boolean {
        return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    stop(): void {
        this.child?.kill("SIGKILL");
    }
}
