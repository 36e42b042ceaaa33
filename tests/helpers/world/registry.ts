/**
 * Debian's real OCI registry (`docker-registry`, distribution 2.8) in a network namespace,
 * plain HTTP or HTTPS. Its JSON log has one "response completed" entry per request with the
 * client's address: that is how a test tells a pull that came through the stand-in (remote
 * address = the stand-in's) from one that came straight from the node.
 */
import { ChildProcess, spawn } from "child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { inNetns, run, waitFor } from "./exec";

export interface RegistryOptions {
    name: string;
    /** Network namespace to run in ("": this process's own). */
    netns: string;
    /** Listen address, e.g. `0.0.0.0:5000`. */
    listen: string;
    /** Address the hub uses to reach it (for readiness and pushes), e.g. `198.18.0.3:5000`. */
    reachAt: string;
    /** HTTPS; with `clientCa`, clients must present a certificate it signs (`client` for our checks). */
    tls?: { cert: string; key: string; ca: string; clientCa?: string; client?: { cert: string; key: string } };
    dir: string;
}

export interface RegistryRequest {
    method: string;
    uri: string;
    /** Client IP (port stripped). */
    remoteIp: string;
    status: number;
}

export class Registry {
    readonly logFile: string;
    readonly baseUrl: string;
    private child?: ChildProcess;

    constructor(readonly opts: RegistryOptions) {
        this.logFile = join(opts.dir, `${opts.name}.log`);
        this.baseUrl = `${opts.tls ? "https" : "http"}://${opts.reachAt}`;
    }

    async start(hubNetns: string): Promise<void> {
        const o = this.opts;
        const data = join(o.dir, `${o.name}-data`);
        mkdirSync(data, { recursive: true });
        const config = join(o.dir, `${o.name}.yml`);
        const clientCas = o.tls?.clientCa ? `    clientcas:\n      - ${o.tls.clientCa}\n` : "";
        const tls = o.tls ? `  tls:\n    certificate: ${o.tls.cert}\n    key: ${o.tls.key}\n${clientCas}` : "";
        writeFileSync(
            config,
            [
                "version: 0.1",
                "log:",
                "  level: info",
                "  formatter: json",
                "  accesslog:",
                "    disabled: true",
                "storage:",
                "  filesystem:",
                `    rootdirectory: ${data}`,
                "  delete:",
                "    enabled: true",
                "http:",
                `  addr: ${o.listen}`,
                `  secret: ${o.name}-not-a-secret`,
                tls,
            ].join("\n"),
        );
        const log = openSync(this.logFile, "a");
        const argv = inNetns(o.netns, "docker-registry", ["serve", config]);
        this.child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", log, log] });
        closeSync(log);
        const ca = o.tls ? ["--cacert", o.tls.ca] : [];
        if (o.tls?.client) {
            ca.push("--cert", o.tls.client.cert, "--key", o.tls.client.key);
        }
        await waitFor(`registry ${o.name} at ${this.baseUrl}`, async () => {
            if (this.child?.exitCode !== null) {
                throw new Error(`registry exited: ${readFileSync(this.logFile, "utf8").slice(-1500)}`);
            }
            const r = await run(
                "curl",
                ["-sS", "-o", "/dev/null", "-w", "%{http_code}", ...ca, `${this.baseUrl}/v2/`],
                {
                    netns: hubNetns,
                    allowFailure: true,
                },
            );
            return r.stdout === "200" ? true : undefined;
        });
    }

    /** Current size of the log: requests after this mark are read with `requestsSince`. */
    mark(): number {
        return readFileSync(this.logFile).length;
    }

    requestsSince(mark: number): RegistryRequest[] {
        const text = readFileSync(this.logFile).subarray(mark).toString("utf8");
        const out: RegistryRequest[] = [];
        for (const line of text.split("\n")) {
            if (!line.startsWith("{")) {
                continue;
            }
            let e: Record<string, unknown>;
            try {
                e = JSON.parse(line) as Record<string, unknown>;
            } catch {
                continue;
            }
            if (e.msg !== "response completed") {
                continue;
            }
            const addr = String(e["http.request.remoteaddr"] ?? "");
            out.push({
                method: String(e["http.request.method"]),
                uri: String(e["http.request.uri"]),
                remoteIp: addr.replace(/:\d+$/, "").replace(/^\[|\]$/g, ""),
                status: Number(e["http.response.status"] ?? 0),
            });
        }
        return out;
    }

    stop(): void {
        this.child?.kill("SIGKILL");
    }
}
