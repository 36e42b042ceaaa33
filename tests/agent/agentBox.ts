/**
 * The SSH path's starting-state matrix (tests/node/startingStates.ts) through the agent path: a
 * stand-in for tests/node's NodeSandbox that is a sandbox node of the agent's world (its own PID
 * and mount namespaces and containerd, tests/agent/agentWorld.ts), and `apply`/`restore` that run
 * the agent's entrypoint in a container on it instead of `bash -c` over SSH:
 *
 * - apply: an agent with the spec's Secret starts; its first apply's summary line (and the script's
 *   warnings) from the container's log are the result; SIGTERM with the DaemonSet there (nothing
 *   undone), and the container goes.
 * - restore: an agent with the last applied Secret starts (its apply changes nothing), the
 *   DaemonSet is deleted, SIGTERM: the agent restores the node; the restore's summary line is the
 *   result. The DaemonSet is created again.
 *
 * The matrix's functions are synchronous, so everything here is too (spawnSync, a blocking sleep).
 */
import { spawnSync } from "child_process";
import { mkdirSync, readFileSync } from "fs";
import { join } from "path";

import { NodeScriptSpec } from "../../lib/node";
import { API_PORT } from "../helpers/world/controlPlane";
import { StandinArchive } from "../helpers/world/images";
import { KubeletNode } from "../helpers/world/kubeletNode";
import type { RunResult } from "../helpers/world/exec";
import { exitCode } from "../node/sandbox";
import {
    AGENT_IMAGE,
    AGENT_NAME,
    AGENT_NAMESPACE,
    AgentControlPlane,
    AgentNode,
    AgentSecret,
    daemonSet,
    secretOfSpec,
    summaries,
} from "./agentWorld";

/** What every box shares: the control plane, the agent's token, the images, the nodes' networks. */
export interface BoxWorld {
    cp: AgentControlPlane;
    token: string;
    archive: StandinArchive;
    hubNetns: string;
    /** One network namespace per box, used in order. */
    nodeNetns: string[];
    dir: string;
    credentials: string;
}

function blockFor(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A request to the API server from the hub, synchronously (status code, 0 when none). */
function apiSync(w: BoxWorld, method: string, path: string, body?: unknown): number {
    const r = spawnSync(
        "ip",
        [
            "netns",
            "exec",
            w.hubNetns,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "20",
            "-X",
            method,
            "--cacert",
            w.cp.caFile,
            "-H",
            `Authorization: Bearer ${w.cp.token}`,
            ...(body === undefined ? [] : ["-H", "Content-Type: application/json", "--data-binary", "@-"]),
            `https://127.0.0.1:${API_PORT}${path}`,
        ],
        { input: body === undefined ? "" : JSON.stringify(body), encoding: "utf8", timeout: 30_000 },
    );
    return Number(r.stdout) || 0;
}

const DS = `/apis/apps/v1/namespaces/${AGENT_NAMESPACE}/daemonsets`;

export class AgentBox {
    static world: BoxWorld;
    private static used = 0;
    private static current?: AgentBox;
    /** The nodes' stops, which `close()` (synchronous in the matrix) starts. */
    static readonly stopping: Promise<string[]>[] = [];

    readonly env: Record<string, string> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
    private lastSecret?: AgentSecret;
    private closed = false;

    private constructor(
        readonly node: KubeletNode,
        readonly agentNode: AgentNode,
    ) {}

    /** A fresh sandbox node (the one before is stopped first: one runs at a time). */
    static async create(): Promise<AgentBox> {
        const w = AgentBox.world;
        AgentBox.current?.close();
        await Promise.all(AgentBox.stopping);
        const i = AgentBox.used++;
        if (i >= w.nodeNetns.length) {
            throw new Error(`only ${w.nodeNetns.length} sandbox nodes were prepared`);
        }
        const dir = join(w.dir, `box-${i}`);
        const node = new KubeletNode({
            hubNetns: w.hubNetns,
            netns: w.nodeNetns[i],
            address: `198.18.0.${40 + i}`,
            caFile: w.cp.caFile,
            token: w.cp.token,
            dir: join(dir, "node"),
            nodeName: `state-${i}`,
            pool: "agent-pool",
            apiGet: (p) => w.cp.get(p),
        });
        await node.startRuntime(w.archive, { importImages: false });
        const agentNode = new AgentNode(node, join(dir, "agents"));
        await agentNode.prepare();
        // A stock config puts containerd's root under /var/lib, an overlay in this node: overlayfs
        // snapshots cannot live on an overlay, so the root gets a filesystem of its own.
        await node.exec(["sh", "-c", "mkdir -p /var/lib/containerd && mount -t tmpfs dfcce-root /var/lib/containerd"]);
        const box = new AgentBox(node, agentNode);
        AgentBox.current = box;
        return box;
    }

    private get initPid(): number {
        const pid = this.node.initPid;
        if (pid === undefined) {
            throw new Error("the sandbox node is not running");
        }
        return pid;
    }

    /** Runs `sh -c command` on the node (its PID, mount and network namespaces). */
    sh(command: string, opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
        const r = spawnSync("nsenter", ["-t", String(this.initPid), "-p", "-m", "-n", "--", "sh", "-c", command], {
            input: opts.input ?? "",
            env: { ...this.env, ...opts.env },
            encoding: "utf8",
            timeout: 120_000,
        });
        return { code: exitCode(r.status, r.signal), stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    p(abs: string): string {
        return this.agentNode.p(abs);
    }

    read(abs: string): string {
        return readFileSync(this.p(abs), "utf8");
    }

    exists(abs: string): boolean {
        return this.sh(`test -e '${abs}'`).code === 0;
    }

    write(abs: string, content: string, mode = 0o644): void {
        const r = this.sh(`mkdir -p "$(dirname '${abs}')" && cat > '${abs}' && chmod ${mode.toString(8)} '${abs}'`, {
            input: content,
        });
        if (r.code !== 0) {
            throw new Error(`cannot write ${abs} on the node: ${r.stderr}`);
        }
    }

    snapshot(abs: string): Record<string, string> {
        return this.agentNode.snapshot(abs);
    }

    calls(): string[] {
        try {
            return readFileSync(join(this.node.opts.dir, "run/systemctl-standin/calls.log"), "utf8")
                .split("\n")
                .filter((l) => l !== "");
        } catch {
            return [];
        }
    }

    restarts(): number {
        return this.calls().filter((l) => /^systemctl restart /.test(l)).length;
    }

    /** The environment the node's containerd runs with. */
    containerdEnv(): Record<string, string> {
        const pid = readFileSync(join(this.node.opts.dir, "run/systemctl-standin/containerd.pid"), "utf8").trim();
        const env: Record<string, string> = {};
        for (const kv of this.read(`/proc/${pid}/environ`).split("\0")) {
            const i = kv.indexOf("=");
            if (i > 0) {
                env[kv.slice(0, i)] = kv.slice(i + 1);
            }
        }
        return env;
    }

    close(): void {
        if (!this.closed) {
            this.closed = true;
            AgentBox.stopping.push(this.node.stop());
        }
    }

    private ctr(args: string[]): RunResult {
        return this.sh(["ctr", "--namespace", "k8s.io", ...args].map((a) => `'${a}'`).join(" "));
    }

    /** The agent's image in the node's containerd (a stock config's root starts empty). */
    private ensureImage(): void {
        if (!this.ctr(["images", "ls", "-q"]).stdout.split("\n").includes(AGENT_IMAGE)) {
            const r = this.ctr(["images", "import", AgentBox.world.archive.file]);
            if (r.code !== 0) {
                throw new Error(`cannot import the agent's image: ${r.stderr}`);
            }
        }
    }

    private waitLog(logFile: string, done: (log: string) => boolean, what: string): string {
        const deadline = Date.now() + 120_000;
        for (;;) {
            let log = "";
            try {
                log = readFileSync(logFile, "utf8");
            } catch {
                // not written yet
            }
            if (done(log)) {
                return log;
            }
            if (Date.now() > deadline) {
                throw new Error(`timed out waiting for the agent to ${what}; its log:\n${log}`);
            }
            blockFor(100);
        }
    }

    /** Runs one agent: until its first apply's result, then SIGTERM (after `beforeTerm`). */
    private runAgent(secret: AgentSecret, beforeTerm: () => void): { log: string; term: string } {
        this.ensureImage();
        const w = AgentBox.world;
        mkdirSync(this.agentNode.dir, { recursive: true });
        const { id, logFile, args } = this.agentNode.agentRun({
            secret,
            token: w.token,
            caFile: w.cp.caFile,
            nodeName: this.node.opts.nodeName,
        });
        const started = this.ctr(args);
        if (started.code !== 0) {
            throw new Error(`ctr run failed: ${started.stderr}`);
        }
        try {
            const log = this.waitLog(
                logFile,
                (l) => summaries(l).length > 0 || /apply failed on node/.test(l),
                "finish its first apply",
            );
            beforeTerm();
            this.ctr(["task", "kill", "-s", "SIGTERM", id]);
            const deadline = Date.now() + 120_000;
            while (!new RegExp(`^${id}\\s+\\d+\\s+STOPPED`, "m").test(this.ctr(["task", "ls"]).stdout)) {
                if (Date.now() > deadline) {
                    throw new Error(`the agent did not exit after SIGTERM; its log:\n${readFileSync(logFile, "utf8")}`);
                }
                blockFor(100);
            }
            return { log, term: readFileSync(logFile, "utf8").slice(log.length) };
        } finally {
            this.ctr(["task", "kill", "-s", "SIGKILL", id]);
            for (let i = 0; i < 50 && this.ctr(["task", "delete", id]).code !== 0; i++) {
                blockFor(100);
            }
            this.ctr(["container", "delete", id]);
        }
    }

    /** The matrix's apply, through the agent (module comment). */
    apply(s: NodeScriptSpec): RunResult {
        const secret: AgentSecret = secretOfSpec(s, AgentBox.world.credentials);
        const { log } = this.runAgent(secret, () => undefined);
        const result = scriptResult(log);
        if (result.code === 0) {
            this.lastSecret = secret;
        }
        return result;
    }

    /** The matrix's restore, through the agent's SIGTERM with its DaemonSet gone (module comment). */
    restore(): RunResult {
        if (this.lastSecret === undefined) {
            throw new Error("restore through the agent needs an apply first (its Secret)");
        }
        const w = AgentBox.world;
        let result: RunResult;
        let recreated: number;
        try {
            const { log, term } = this.runAgent(this.lastSecret, () => {
                const status = apiSync(w, "DELETE", `${DS}/${AGENT_NAME}`);
                if (status !== 200) {
                    throw new Error(`DELETE of the DaemonSet: HTTP ${status}`);
                }
            });
            const first = scriptResult(log);
            if (first.stdout !== "dragonfly-cce: changed=-, restarted=no\n") {
                throw new Error(`the agent's apply before the restore changed something: ${first.stdout}`);
            }
            const from = term.indexOf("is gone: restoring");
            result = scriptResult(from < 0 ? "" : term.slice(term.lastIndexOf("\n", from) + 1));
            if (!/node \S+ restored/.test(term)) {
                result = { ...result, code: 1, stderr: term };
            }
        } finally {
            recreated = apiSync(w, "POST", DS, daemonSet());
        }
        if (recreated !== 201) {
            throw new Error(`POST of the DaemonSet: HTTP ${recreated}`);
        }
        return result;
    }
}

/**
 * The script's result as the agent's log shows it: its summary line is stdout; the lines that are
 * not the agent's own are the script's stderr; a failure is status 1.
 */
function scriptResult(log: string): RunResult {
    const lines = log.split("\n").filter((l) => l !== "");
    const failed = lines.some((l) => /^dragonfly-cce-agent: apply failed on node /.test(l));
    const summary = summaries(log)[0];
    return {
        code: failed || summary === undefined ? 1 : 0,
        stdout: summary === undefined ? "" : `${summary}\n`,
        stderr: lines
            .filter((l) => l !== summary && !l.startsWith("dragonfly-cce-agent: ") && !summaries(l).length)
            .map((l) => `${l}\n`)
            .join(""),
    };
}
