/**
 * The local world's cluster control plane, inside the world's hub network namespace: kine
 * (sqlite), kube-apiserver, kube-controller-manager (namespaces finalize, service accounts and
 * Endpoints appear), kube-scheduler when the world has kubelet nodes, and a stand-in for CCE's
 * ELB controller (elb-standin.js). Everything listens in the hub, so fixed ports never collide
 * with the machine's; whatever runs in the hub (the Pulumi CLI, helm, curl) reaches the API
 * server at https://127.0.0.1:6443.
 *
 * With kubelet nodes (`nodes`), the API server authorizes as a cluster does (`Node,RBAC`, with the
 * NodeRestriction admission plugin): each kubelet has a token of its own (user
 * `system:node:<name>`, group `system:nodes`), kube-proxy one for `system:kube-proxy` (bound to
 * `system:node-proxier` by the default RBAC policy), and the API server also listens on the hub's
 * world address (`advertiseAddress`), which the `kubernetes` Service's Endpoints name, so its
 * ClusterIP leads to it from a node.
 *
 * The processes are children of this one; `stop()` ends them by pid, and deleting the hub
 * namespace ends whatever is left.
 */
import { ChildProcess, spawn } from "child_process";
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { randomBytes } from "crypto";

import { apiServerArgs, KUBERNETES_SERVICE_IP, kineArgs, kubeconfigFor, writeApiServerFiles } from "../kube/apiServer";
import { toolPath } from "../tools";
import { makeCa, makeLeaf } from "./certs";
import { run, RunResult, waitFor } from "./exec";

/** The API server's port on the hub's loopback. */
export const API_PORT = 6443;
const KINE_PORT = 2379;

export interface ControlPlaneOptions {
    /** The hub namespace everything runs in. */
    netns: string;
    /** Directory for certificates, the store, logs and the kubeconfig. */
    dir: string;
    /** The address the ELB stand-in gives every LoadBalancer Service that asks CCE for an ELB. */
    loadBalancerAddress: string;
    /**
     * Names of the kubelet nodes that will register: each gets a node token, the API server runs
     * `--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction`, and
     * kube-scheduler runs. None (the default): RBAC only, no scheduler.
     */
    nodes?: string[];
    /** The hub's address on the world's network (needed with `nodes`: the `kubernetes` Service's endpoint). */
    advertiseAddress?: string;
}

export class ControlPlane {
    /** The admin token (group system:masters). */
    readonly token = randomBytes(24).toString("hex");
    /** kube-proxy's token (user system:kube-proxy). */
    readonly proxyToken = randomBytes(24).toString("hex");
    private readonly nodeTokens = new Map<string, string>();
    readonly kubeconfigFile: string;
    /** The cluster CA's certificate (it signs the API server's serving certificate). */
    caFile = "";
    private readonly procs: { name: string; child: ChildProcess }[] = [];

    constructor(readonly opts: ControlPlaneOptions) {
        this.kubeconfigFile = join(opts.dir, "kubeconfig");
        if ((opts.nodes?.length ?? 0) > 0 && opts.advertiseAddress === undefined) {
            throw new Error("a control plane with kubelet nodes needs advertiseAddress");
        }
        for (const n of opts.nodes ?? []) {
            this.nodeTokens.set(n, randomBytes(24).toString("hex"));
        }
    }

    /** The token of kubelet node `name` (user `system:node:<name>`, group `system:nodes`). */
    nodeToken(name: string): string {
        const t = this.nodeTokens.get(name);
        if (t === undefined) {
            throw new Error(`no kubelet node ${name} in this control plane`);
        }
        return t;
    }

    private get withNodes(): boolean {
        return this.nodeTokens.size > 0;
    }

    async start(): Promise<void> {
        const { dir } = this.opts;
        mkdirSync(dir, { recursive: true });
        const ca = await makeCa(dir, "kube");
        this.caFile = ca.cert;
        // A pod reaches the API server at the `kubernetes` Service's ClusterIP, a node at the
        // hub's address: the serving certificate names both.
        const serving = await makeLeaf(
            dir,
            "apiserver",
            ca,
            this.withNodes ? ["127.0.0.1", this.opts.advertiseAddress ?? "", KUBERNETES_SERVICE_IP] : ["127.0.0.1"],
        );
        await writeApiServerFiles(dir, this.token);
        if (this.withNodes) {
            const lines = [...this.nodeTokens].map(([n, t]) => `${t},system:node:${n},system:node:${n},system:nodes`);
            lines.push(`${this.proxyToken},system:kube-proxy,system:kube-proxy`);
            appendFileSync(join(dir, "tokens.csv"), `${lines.join("\n")}\n`);
        }
        writeFileSync(this.kubeconfigFile, kubeconfigFor(API_PORT, readFileSync(ca.cert, "utf8"), this.token), {
            mode: 0o600,
        });

        this.spawn("kine", kineArgs(dir, KINE_PORT));
        await waitFor(
            "kine",
            async () =>
                (await this.inHub("bash", ["-c", `</dev/tcp/127.0.0.1/${KINE_PORT}`])).code === 0 ? true : undefined,
            20_000,
        );
        this.spawn(
            "kube-apiserver",
            apiServerArgs({
                dir,
                port: API_PORT,
                kinePort: KINE_PORT,
                serving,
                ...(this.withNodes
                    ? {
                          authorization: "Node,RBAC",
                          admissionPlugins: ["NodeRestriction"],
                          advertiseAddress: this.opts.advertiseAddress,
                      }
                    : { authorization: "RBAC" }),
            }),
        );
        await waitFor(
            "kube-apiserver /readyz",
            async () => ((await this.get("/readyz")).stdout === "ok" ? true : undefined),
            120_000,
        );
        this.spawn("kube-controller-manager", [
            `--kubeconfig=${this.kubeconfigFile}`,
            "--leader-elect=false",
            "--controllers=*",
            `--service-account-private-key-file=${join(dir, "sa.key")}`,
            `--root-ca-file=${ca.cert}`,
            "--bind-address=127.0.0.1",
            "--secure-port=10257",
            "--authentication-skip-lookup=true",
        ]);
        if (this.withNodes) {
            this.spawn("kube-scheduler", [
                `--kubeconfig=${this.kubeconfigFile}`,
                `--authentication-kubeconfig=${this.kubeconfigFile}`,
                `--authorization-kubeconfig=${this.kubeconfigFile}`,
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=10259",
            ]);
        }
        this.spawnProgram("elb-standin", [
            process.execPath,
            join(__dirname, "elb-standin.js"),
            JSON.stringify({
                server: `https://127.0.0.1:${API_PORT}`,
                ca: ca.cert,
                token: this.token,
                address: this.opts.loadBalancerAddress,
            }),
        ]);
        // The default ServiceAccount appears once the controller-manager runs.
        await waitFor(
            "the default ServiceAccount (kube-controller-manager)",
            async () =>
                (await this.get("/api/v1/namespaces/default/serviceaccounts/default")).code === 0 ? true : undefined,
            60_000,
        );
    }

    /** A GET against the API server from inside the hub (curl; exit code 0 on 2xx). */
    get(path: string): Promise<RunResult> {
        return this.inHub("curl", [
            "-sf",
            "--max-time",
            "10",
            "--cacert",
            this.caFile,
            "-H",
            `Authorization: Bearer ${this.token}`,
            `https://127.0.0.1:${API_PORT}${path}`,
        ]);
    }

    /** One request to the API server from inside the hub as admin (curl; exit code 0 on 2xx). */
    api(method: string, path: string, body?: unknown): Promise<RunResult> {
        return this.curl(["-sf"], method, path, body);
    }

    /** curl in the hub with the admin token and the cluster CA; `body` (JSON) goes on stdin. */
    protected curl(
        flags: string[],
        method: string,
        path: string,
        body?: unknown,
        contentType = "application/json",
    ): Promise<RunResult> {
        const data = body === undefined ? [] : ["-H", `Content-Type: ${contentType}`, "--data-binary", "@-"];
        return run(
            "curl",
            [
                ...flags,
                "--max-time",
                "20",
                "-X",
                method,
                "--cacert",
                this.caFile,
                "-H",
                `Authorization: Bearer ${this.token}`,
                ...data,
                `https://127.0.0.1:${API_PORT}${path}`,
            ],
            {
                netns: this.opts.netns,
                allowFailure: true,
                timeoutMs: 30_000,
                input: body === undefined ? undefined : JSON.stringify(body),
            },
        );
    }

    private inHub(cmd: string, args: string[]): Promise<RunResult> {
        return run(cmd, args, { netns: this.opts.netns, allowFailure: true, timeoutMs: 20_000 });
    }

    private spawn(tool: string, args: string[]): void {
        this.spawnProgram(tool, [toolPath(tool), ...args]);
    }

    private spawnProgram(name: string, argv: string[]): void {
        const log = openSync(join(this.opts.dir, `${name}.log`), "a");
        const child = spawn("ip", ["netns", "exec", this.opts.netns, ...argv], { stdio: ["ignore", log, log] });
        closeSync(log);
        this.procs.push({ name, child });
    }

    /** The last lines of a process's log (for failure messages). */
    log(name: string): string {
        try {
            return readFileSync(join(this.opts.dir, `${name}.log`), "utf8").slice(-3000);
        } catch {
            return "";
        }
    }

    /** Names of the processes that exited (none while the world is healthy). */
    exited(): string[] {
        return this.procs.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null).map((p) => p.name);
    }

    /** Ends the processes in reverse order of start, by pid. */
    stop(): void {
        for (const { child } of [...this.procs].reverse()) {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGKILL");
            }
        }
    }
}
