/**
 * A real Kubernetes API server for one test run: kine (sqlite) as its store and kube-apiserver,
 * both built by scripts/tools.sh, listening on loopback only, in a temporary directory, with token
 * auth and a serving certificate from a CA made for the run. `stop()` ends exactly the processes
 * it started and removes the directory.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { randomBytes } from "crypto";

import { makeCa, makeLeaf } from "../world/certs";
import { run, sleep } from "../world/exec";
import { toolPath } from "../tools";
import { KubeObject } from "./helm";

/** An API response: status code and parsed body. */
export interface ApiResponse {
    status: number;
    body: { kind?: string; message?: string; reason?: string; [k: string]: unknown };
}

/** What creating one object gave. */
export interface CreateResult {
    object: string;
    status: number;
    message?: string;
}

/** A free TCP port on 127.0.0.1 (bound and released at once). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

/**
 * kine's arguments: sqlite in `dir`, loopback only, and no metrics server (kine's default metrics
 * address is :8080 on every interface, and kine exits when that port is taken).
 */
export function kineArgs(dir: string, port: number): string[] {
    return [
        "--endpoint",
        `sqlite://${path.join(dir, "state.db")}?_journal=WAL&cache=shared`,
        "--listen-address",
        `127.0.0.1:${port}`,
        "--metrics-bind-address",
        "0",
    ];
}

/** The files an API server needs besides its serving certificate: service-account keys, tokens. */
export async function writeApiServerFiles(dir: string, token: string): Promise<void> {
    await run("openssl", ["genrsa", "-out", path.join(dir, "sa.key"), "2048"]);
    await run("openssl", ["rsa", "-in", path.join(dir, "sa.key"), "-pubout", "-out", path.join(dir, "sa.pub")]);
    fs.writeFileSync(path.join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
}

/** The Service CIDR every test API server uses; the `kubernetes` Service takes its first address. */
export const SERVICE_CIDR = "10.0.0.0/24";
/** The `kubernetes` Service's ClusterIP ($KUBERNETES_SERVICE_HOST in every pod). */
export const KUBERNETES_SERVICE_IP = "10.0.0.1";

/**
 * kube-apiserver's arguments: token auth, the files of {@link writeApiServerFiles}; loopback only
 * unless `advertiseAddress` is given (then it listens on every address of its namespace and
 * the `kubernetes` Service's Endpoints name `advertiseAddress`).
 */
export function apiServerArgs(o: {
    dir: string;
    port: number;
    kinePort: number;
    serving: { cert: string; key: string };
    authorization: string;
    /** Admission plugins besides the defaults (e.g. NodeRestriction). */
    admissionPlugins?: string[];
    advertiseAddress?: string;
}): string[] {
    return [
        `--etcd-servers=http://127.0.0.1:${o.kinePort}`,
        "--storage-media-type=application/json",
        `--bind-address=${o.advertiseAddress === undefined ? "127.0.0.1" : "0.0.0.0"}`,
        `--advertise-address=${o.advertiseAddress ?? "127.0.0.1"}`,
        `--secure-port=${o.port}`,
        `--cert-dir=${path.join(o.dir, "certs")}`,
        `--tls-cert-file=${o.serving.cert}`,
        `--tls-private-key-file=${o.serving.key}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=https://127.0.0.1:${o.port}`,
        `--service-account-key-file=${path.join(o.dir, "sa.pub")}`,
        `--service-account-signing-key-file=${path.join(o.dir, "sa.key")}`,
        `--token-auth-file=${path.join(o.dir, "tokens.csv")}`,
        `--authorization-mode=${o.authorization}`,
        "--allow-privileged=true",
        "--profiling=false",
        "--enable-priority-and-fairness=false",
        ...(o.admissionPlugins?.length ? [`--enable-admission-plugins=${o.admissionPlugins.join(",")}`] : []),
    ];
}

/** A kubeconfig for an API server on 127.0.0.1:port (token auth, the given CA). */
export function kubeconfigFor(port: number, ca: string, token: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: local",
        "  cluster:",
        `    server: https://127.0.0.1:${port}`,
        `    certificate-authority-data: ${Buffer.from(ca).toString("base64")}`,
        "users:",
        "- name: admin",
        "  user:",
        `    token: ${token}`,
        "contexts:",
        "- name: local",
        "  context: {cluster: local, user: admin}",
        "current-context: local",
        "",
    ].join("\n");
}

export class ApiServer {
    private readonly procs: ChildProcess[] = [];
    private readonly logs: string[] = [];
    private readonly resources = new Map<string, { name: string; namespaced: boolean }>();
    private ca = "";
    readonly token = randomBytes(24).toString("hex");
    port = 0;
    /** kine's port (loopback), the API server's store. */
    storePort = 0;
    /** Seconds from start to a ready API server. */
    startSeconds = 0;

    constructor(readonly dir: string) {}

    /** Starts kine and kube-apiserver and waits for `/readyz`. */
    async start(): Promise<void> {
        const t0 = Date.now();
        const dir = this.dir;
        fs.mkdirSync(dir, { recursive: true });
        const ca = await makeCa(dir, "kube");
        const serving = await makeLeaf(dir, "apiserver", ca, ["127.0.0.1"]);
        this.ca = fs.readFileSync(ca.cert, "utf8");
        await writeApiServerFiles(dir, this.token);

        const kinePort = await freePort();
        this.storePort = kinePort;
        this.port = await freePort();
        this.spawn("kine", kineArgs(dir, kinePort));
        try {
            await waitForPort(kinePort, 20_000);
        } catch (e) {
            throw new Error(
                `${(e as Error).message}; kine said:
${this.recentLogs()}`,
                { cause: e },
            );
        }
        this.spawn("kube-apiserver", apiServerArgs({ dir, port: this.port, kinePort, serving, authorization: "RBAC" }));
        const deadline = Date.now() + 120_000;
        for (;;) {
            try {
                const r = await this.request("GET", "/readyz");
                if (r.status === 200) {
                    break;
                }
            } catch {
                // not listening yet
            }
            if (Date.now() > deadline) {
                throw new Error(`kube-apiserver not ready after 120 s:\n${this.logs.join("").slice(-4000)}`);
            }
            await sleep(250);
        }
        this.startSeconds = (Date.now() - t0) / 1000;
    }

    private spawn(tool: string, args: string[]): void {
        const child = spawn(toolPath(tool), args, { stdio: ["ignore", "pipe", "pipe"] });
        const keep = (d: Buffer) => {
            this.logs.push(`[${tool}] ${d.toString("utf8")}`);
            if (this.logs.length > 400) {
                this.logs.splice(0, this.logs.length - 400);
            }
        };
        child.stdout?.on("data", keep);
        child.stderr?.on("data", keep);
        this.procs.push(child);
    }

    /** A kubeconfig for this server (token auth, the run's CA). */
    kubeconfig(): string {
        return kubeconfigFor(this.port, this.ca, this.token);
    }

    /** One HTTPS request to the API server, as the admin token (`headers`: e.g. `Impersonate-User`). */
    request(
        method: string,
        urlPath: string,
        body?: unknown,
        headers: Record<string, string> = {},
    ): Promise<ApiResponse> {
        const data = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: "127.0.0.1",
                    port: this.port,
                    method,
                    path: urlPath,
                    ca: this.ca,
                    headers: {
                        Authorization: `Bearer ${this.token}`,
                        Accept: "application/json",
                        ...(data ? { "Content-Type": "application/json" } : {}),
                        ...headers,
                    },
                    timeout: 30_000,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let parsed: ApiResponse["body"];
                        try {
                            parsed = JSON.parse(text) as ApiResponse["body"];
                        } catch {
                            parsed = { message: text };
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed });
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
            req.on("error", reject);
            req.end(data);
        });
    }

    /** The REST resource of a kind, from the server's own discovery. */
    private async resourceOf(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean }> {
        const key = `${apiVersion}/${kind}`;
        const known = this.resources.get(key);
        if (known) {
            return known;
        }
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const r = await this.request("GET", base);
        if (r.status !== 200) {
            throw new Error(`discovery of ${apiVersion} failed: ${r.status} ${r.body.message ?? ""}`);
        }
        for (const res of (r.body.resources ?? []) as Array<{ name: string; kind: string; namespaced: boolean }>) {
            if (!res.name.includes("/")) {
                this.resources.set(`${apiVersion}/${res.kind}`, { name: res.name, namespaced: res.namespaced });
            }
        }
        const found = this.resources.get(key);
        if (!found) {
            throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
        }
        return found;
    }

    /** Creates an object with strict field validation (unknown or duplicate fields are errors). */
    async create(obj: KubeObject): Promise<CreateResult> {
        const { name, namespaced } = await this.resourceOf(obj.apiVersion, obj.kind);
        const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
        const ns = obj.metadata.namespace;
        if (namespaced && !ns) {
            throw new Error(`${obj.kind}/${obj.metadata.name} is namespaced but has no namespace`);
        }
        const url = `${base}${namespaced ? `/namespaces/${ns}` : ""}/${name}?fieldValidation=Strict`;
        const r = await this.request("POST", url, obj);
        return {
            object: `${obj.kind}/${ns ? `${ns}/` : ""}${obj.metadata.name}`,
            status: r.status,
            message: r.status === 201 ? undefined : (r.body.message ?? JSON.stringify(r.body)),
        };
    }

    /** Recent output of kine and kube-apiserver (for failure messages). */
    recentLogs(): string {
        return this.logs.join("").slice(-4000);
    }

    /** Ends the processes this server started (by their pids) and removes its directory. */
    async stop(): Promise<void> {
        for (const p of [...this.procs].reverse()) {
            if (p.exitCode === null && p.signalCode === null) {
                const exited = new Promise<void>((r) => p.once("exit", () => r()));
                p.kill("SIGTERM");
                const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
                await exited;
                clearTimeout(timer);
            }
        }
        this.procs.length = 0;
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** Pids of the processes still running (empty after stop()). */
    runningPids(): number[] {
        return this.procs.filter((p) => p.exitCode === null && p.signalCode === null).map((p) => p.pid ?? -1);
    }
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1");
            s.once("connect", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => resolve(false));
        });
        if (ok) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
        }
        await sleep(100);
    }
}
