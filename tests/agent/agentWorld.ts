/**
 * The world the agent's entrypoint runs in for real (tests/agent): a sandbox node with its own PID
 * and mount namespaces and its own containerd (tests/helpers/world/kubeletNode.ts, no kubelet), the
 * agent as a container of that containerd (`ctr run`: privileged, the node's PID namespace as
 * hostPID gives it, the Secret and the service account mounted as the kubelet mounts them, the
 * DaemonSet's environment), and a real kube-apiserver (tests/helpers/world/controlPlane.ts) that
 * the node reaches at 127.0.0.1:6443, with the agent's ServiceAccount, Role, RoleBinding, status
 * ConfigMap, Secret and DaemonSet exactly as the program ships them (lib/agent/manifests.ts, for a
 * stack config of {@link agentStack}). The container runs the DaemonSet's own image and command.
 *
 * The node is made to look like a node to the scripts, inside its mount namespace only: private
 * /etc/systemd/system and /tmp, and systemctl/journalctl (tests/agent/node-systemctl.sh, over the
 * machine's binaries by bind mounts) that manage the very containerd the node's init started: the
 * apply restarts the containerd that runs the agent's container (its shim keeps the container).
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "fs";
import { join } from "path";

import {
    AGENT_ENV,
    AGENT_MOUNT,
    AGENT_NAME,
    AGENT_READY_FILE,
    AGENT_STATUS_CONFIGMAP,
    agentConfigHash,
    agentEntrypoint,
    AgentScripts,
    agentScripts,
    agentSecretData,
    agentSecretManifest,
    AgentStack,
    daemonSetManifest,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../../lib/agent";
import { parseStackConfig, RawStackConfig } from "../../lib/config";
import { applyScript, NodeScriptSpec, restoreScript } from "../../lib/node";
import { API_PORT, ControlPlane } from "../helpers/world/controlPlane";
import { RunResult, waitFor } from "../helpers/world/exec";
import { AGENT_IMAGE as STANDIN_AGENT_IMAGE } from "../helpers/world/images";
import { KubeletNode } from "../helpers/world/kubeletNode";

export { AGENT_NAME };
export const STATUS_CONFIGMAP = AGENT_STATUS_CONFIGMAP;
export const AGENT_NAMESPACE = "dragonfly-system";

/**
 * The stack config the world's objects come from: the agent on, in {@link AGENT_NAMESPACE}, with
 * `raw` over a node pool (the DaemonSet's pods never schedule here: no node is registered).
 */
export function agentStack(raw: RawStackConfig = {}): AgentStack {
    const cfg = parseStackConfig({
        nodePool: "agent-pool",
        ...raw,
        namespace: AGENT_NAMESPACE,
        nodeAgent: { enabled: true },
    });
    return { core: cfg.core, nodes: cfg.nodes, nodeAgent: cfg.nodeAgent };
}

/** The stack the world's objects come from when a test names none (proxy mode, default keys). */
const WORLD_STACK = agentStack({ registries: ["swr.cn-north-4.myhuaweicloud.com"] });
/** The proxy URL the world's scripts name (tests/node's ENDPOINT). */
export const WORLD_ENDPOINT = "http://192.168.0.177:4001";

/** The DaemonSet's one container, as the program ships it. */
const SHIPPED = daemonSetManifest(WORLD_STACK, agentConfigHash(agentScripts(WORLD_STACK, WORLD_ENDPOINT))).spec.template
    .spec.containers[0];
/** The agent's image: the DaemonSet's, exactly (the world's stand-in of busybox 1.37.0). */
export const AGENT_IMAGE = SHIPPED.image;
/** The agent's command: the DaemonSet's, exactly (`sh` is busybox's in the stand-in image, as in the real one). */
export const AGENT_COMMAND = [...SHIPPED.command];
if (AGENT_IMAGE !== STANDIN_AGENT_IMAGE) {
    throw new Error(`the DaemonSet's image ${AGENT_IMAGE} is not the world's stand-in ${STANDIN_AGENT_IMAGE}`);
}
/** The real busybox image's PATH (the stand-in image's own names bitnami paths). */
const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const STANDIN = join(__dirname, "..", "helpers", "systemctl-standin.sh");
const NODE_SYSTEMCTL = join(__dirname, "node-systemctl.sh");

/** An API response: HTTP status (0 when curl could not ask) and the parsed body. */
export interface ApiResult {
    status: number;
    body: any;
}

/** The control plane, written to through curl in the hub (where the API server listens). */
export class AgentControlPlane extends ControlPlane {
    async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<ApiResult> {
        const r = await this.curl(["-sS", "-w", "\n%{http_code}"], method, path, body, contentType);
        const lines = r.stdout.split("\n");
        const status = Number(lines.pop());
        const text = lines.join("\n");
        let parsed: unknown = text;
        try {
            parsed = JSON.parse(text);
        } catch {
            // not JSON
        }
        return { status: Number.isFinite(status) ? status : 0, body: parsed };
    }

    /** `request`, failing unless the status is 2xx. */
    async must(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
        const r = await this.request(method, path, body, contentType);
        if (r.status < 200 || r.status > 299) {
            throw new Error(`${method} ${path}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
        }
        return r.body;
    }
}

const ns = AGENT_NAMESPACE;
const dsPath = `/apis/apps/v1/namespaces/${ns}/daemonsets`;

/**
 * The agent's DaemonSet as the program ships it (`daemonSetManifest` of the world's stack), with
 * `finalizers` (its pods never schedule: no node is registered in this world).
 */
export function daemonSet(finalizers: string[] = []): unknown {
    const ds = daemonSetManifest(WORLD_STACK, agentConfigHash(agentScripts(WORLD_STACK, WORLD_ENDPOINT)));
    return finalizers.length ? { ...ds, metadata: { ...ds.metadata, finalizers } } : ds;
}

/**
 * Creates the namespace and the agent's objects as lib/agent/manifests.ts makes them for the
 * world's stack (ServiceAccount, Role, RoleBinding, the empty status ConfigMap, the Secret and the
 * DaemonSet); returns a token of the ServiceAccount (TokenRequest).
 */
export async function createAgentObjects(cp: AgentControlPlane): Promise<string> {
    const strict = "?fieldValidation=Strict";
    await cp.must("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await cp.must("POST", `/api/v1/namespaces/${ns}/serviceaccounts${strict}`, serviceAccountManifest(WORLD_STACK));
    await cp.must(
        "POST",
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles${strict}`,
        roleManifest(WORLD_STACK),
    );
    await cp.must(
        "POST",
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings${strict}`,
        roleBindingManifest(WORLD_STACK),
    );
    await cp.must("POST", `/api/v1/namespaces/${ns}/configmaps${strict}`, statusConfigMapManifest(WORLD_STACK));
    const scripts = agentScripts(WORLD_STACK, WORLD_ENDPOINT);
    await cp.must(
        "POST",
        `/api/v1/namespaces/${ns}/secrets${strict}`,
        agentSecretManifest(WORLD_STACK, agentConfigHash(scripts), agentSecretData(scripts)),
    );
    await createDaemonSet(cp);
    const tr = await cp.must("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${AGENT_NAME}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 7200 },
    });
    return tr.status.token as string;
}

export async function createDaemonSet(cp: AgentControlPlane, finalizers: string[] = []): Promise<void> {
    await cp.must("POST", `${dsPath}?fieldValidation=Strict`, daemonSet(finalizers));
}

/** Adds a finalizer to the DaemonSet: deleted, it stays with a deletionTimestamp until released. */
export async function holdDaemonSet(cp: AgentControlPlane, finalizer: string): Promise<void> {
    await cp.must(
        "PATCH",
        `${dsPath}/${AGENT_NAME}`,
        { metadata: { finalizers: [finalizer] } },
        "application/merge-patch+json",
    );
}

/** Deletes the DaemonSet as the provider does (foreground); with a finalizer it stays, being deleted. */
export async function deleteDaemonSet(cp: AgentControlPlane): Promise<void> {
    await cp.must("DELETE", `${dsPath}/${AGENT_NAME}`, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Foreground",
    });
}

/** Removes the finalizers of a DaemonSet being deleted, and waits until it is gone. */
export async function releaseDaemonSet(cp: AgentControlPlane): Promise<void> {
    await cp.must(
        "PATCH",
        `${dsPath}/${AGENT_NAME}`,
        { metadata: { finalizers: null } },
        "application/merge-patch+json",
    );
    await waitFor(
        "the DaemonSet to be gone",
        async () => ((await cp.request("GET", `${dsPath}/${AGENT_NAME}`)).status === 404 ? true : undefined),
        60_000,
    );
}

/** The status ConfigMap's data. */
export async function statusData(cp: AgentControlPlane): Promise<Record<string, string>> {
    const cm = await cp.must("GET", `/api/v1/namespaces/${ns}/configmaps/${STATUS_CONFIGMAP}`);
    return (cm.data ?? {}) as Record<string, string>;
}

/** The files of one agent's Secret, as `agentSecretData` makes them (the keys of docs/agent.md). */
export type AgentSecret = Record<string, string>;

/** The Secret's files for a stack (`agentScripts`, `agentSecretData`: what the stack ships). */
export function secretOfStack(stack: AgentStack, endpoint: string, credentials?: string): AgentSecret {
    return agentSecretData(agentScripts(stack, endpoint), credentials);
}

/**
 * The Secret's files for the scripts of a node spec (the starting-state matrix's specs are not
 * all a stack's), through `agentSecretData` with the shipped entrypoint.
 */
export function secretOfSpec(spec: NodeScriptSpec, credentials?: string): AgentSecret {
    const scripts: AgentScripts = {
        entrypoint: agentEntrypoint(),
        apply: applyScript(spec),
        restore: restoreScript(spec),
        proxyAuth: spec.proxyAuth === true,
    };
    return agentSecretData(scripts, spec.proxyAuth === true ? credentials : undefined);
}

/** A running agent container. */
export class Agent {
    readonly startedAt = Date.now();

    constructor(
        readonly node: AgentNode,
        readonly id: string,
        readonly logFile: string,
    ) {}

    /** What the container printed (stdout and stderr, as the pod's log). */
    log(): string {
        try {
            return readFileSync(this.logFile, "utf8");
        } catch {
            return "";
        }
    }

    /** The readiness probe: `cat /tmp/dragonfly-agent-ready` in the container. */
    async ready(): Promise<boolean> {
        const r = await this.node.ctr(
            ["task", "exec", "--exec-id", `ready-${Date.now()}`, this.id, "cat", AGENT_READY_FILE],
            true,
        );
        return r.code === 0;
    }

    /** Waits for the ready file; returns the seconds from the container's start. */
    async waitReady(timeoutMs = 120_000): Promise<number> {
        await waitFor(`agent ${this.id} ready`, async () => ((await this.ready()) ? true : undefined), timeoutMs).catch(
            (e: Error) => {
                throw new Error(`${e.message}\nagent log:\n${this.log()}\ncontainerd:\n${this.node.standinLog()}`);
            },
        );
        return (Date.now() - this.startedAt) / 1000;
    }

    /** Waits until the log holds `pattern`. */
    async waitLog(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
        return waitFor(
            `agent ${this.id} to log ${pattern}`,
            async () => (pattern.test(this.log()) ? this.log() : undefined),
            timeoutMs,
        ).catch((e: Error) => {
            throw new Error(`${e.message}\nagent log:\n${this.log()}`);
        });
    }

    /** The task's status as ctr lists it (RUNNING, STOPPED), or undefined once deleted. */
    async status(): Promise<string | undefined> {
        const r = await this.node.ctr(["task", "ls"], true);
        const line = r.stdout.split("\n").find((l) => l.split(/\s+/)[0] === this.id);
        return line?.trim().split(/\s+/)[2];
    }

    /**
     * SIGTERM, as the kubelet sends it; waits until the task stopped (the grace period: 300 s) and
     * its log is complete (the shim may still be writing its last lines when ctr says STOPPED).
     */
    async terminate(timeoutMs = 300_000): Promise<void> {
        await this.node.ctr(["task", "kill", "-s", "SIGTERM", this.id]);
        await waitFor(
            `agent ${this.id} to exit`,
            async () => ((await this.status()) === "STOPPED" ? true : undefined),
            timeoutMs,
        ).catch((e: Error) => {
            throw new Error(`${e.message}\nagent log:\n${this.log()}`);
        });
        await this.waitLog(
            /^dragonfly-cce-agent: (SIGTERM: .*(configuration|nothing is undone)|node \S+ restored|restore failed)/m,
            10_000,
        );
    }

    /** Kills what is left and deletes the task and the container. */
    async remove(): Promise<void> {
        if ((await this.status()) === "RUNNING") {
            await this.node.ctr(["task", "kill", "-s", "SIGKILL", this.id], true);
            await waitFor(
                `agent ${this.id} killed`,
                async () => ((await this.status()) !== "RUNNING" ? true : undefined),
                30_000,
            ).catch(() => undefined);
        }
        await this.node.ctr(["task", "delete", this.id], true);
        await this.node.ctr(["container", "delete", this.id], true);
    }
}

/** The sandbox node, set up for the agent (see the module comment). */
export class AgentNode {
    private agents = 0;

    constructor(
        readonly node: KubeletNode,
        readonly dir: string,
    ) {}

    private get d(): string {
        return this.node.opts.dir;
    }

    /** The node's view of an absolute path, from this process. */
    p(abs: string): string {
        const pid = this.node.initPid;
        if (pid === undefined) {
            throw new Error("the node is not running");
        }
        return `/proc/${pid}/root${abs}`;
    }

    /** ctr against the node's containerd, inside the node. */
    ctr(args: string[], allowFailure = false): Promise<RunResult> {
        return this.node.exec(["ctr", "--namespace", "k8s.io", ...args], { allowFailure, timeoutMs: 60_000 });
    }

    /** Mounts and links the node needs (module comment); containerd stays the init's. */
    async prepare(): Promise<void> {
        const d = this.d;
        for (const sub of ["etc-systemd-system", "node-tmp", "run/node-standin", "run/systemctl-standin"]) {
            mkdirSync(join(d, sub), { recursive: true });
        }
        for (const name of ["systemctl", "journalctl"]) {
            symlinkSync(STANDIN, join(d, "run/node-standin", name));
        }
        await this.node.exec([
            "sh",
            "-c",
            [
                `mount --bind ${d}/etc-systemd-system /etc/systemd/system`,
                `mount --bind ${d}/node-tmp /tmp`,
                `chmod 1777 /tmp`,
                `mount --bind ${NODE_SYSTEMCTL} /usr/bin/systemctl`,
                `mount --bind ${NODE_SYSTEMCTL} /usr/bin/journalctl`,
            ].join(" && "),
        ]);
        // The stand-in manages the containerd the node's init started.
        writeFileSync(join(d, "run/systemctl-standin/containerd.pid"), String(await this.containerdPid()));
    }

    /** containerd's pid in the node (exactly one runs). */
    async containerdPid(): Promise<number> {
        const r = await this.node.exec(["pidof", "containerd"], { allowFailure: true });
        const pids = r.stdout
            .trim()
            .split(/\s+/)
            .filter((s) => s !== "");
        if (pids.length !== 1) {
            throw new Error(`expected one containerd in the node, found ${JSON.stringify(pids)}`);
        }
        return Number(pids[0]);
    }

    /** Whether containerd's CRI plugin is `ok` (what the scripts check). */
    async criStatus(): Promise<string> {
        const r = await this.node.exec(["ctr", "plugins", "ls"], { allowFailure: true });
        const line = r.stdout.split("\n").find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
        return line ? line.trim().split(/\s+/).pop()! : `no CRI plugin (${r.stderr})`;
    }

    /** Failure injection of the stand-in (STANDIN_BREAK), or none. */
    setBreak(kind: "cri" | "start" | undefined): void {
        const f = join(this.d, "run/node-standin/break");
        if (kind === undefined) {
            rmSync(f, { force: true });
        } else {
            writeFileSync(f, kind);
        }
    }

    /** Seconds every containerd restart takes longer (STANDIN_SLOW_RESTART), or none. */
    setSlowRestart(seconds: number | undefined): void {
        const f = join(this.d, "run/node-standin/slow");
        if (seconds === undefined) {
            rmSync(f, { force: true });
        } else {
            writeFileSync(f, String(seconds));
        }
    }

    /** The stand-in's calls ("systemctl restart containerd"), in order. */
    systemctlCalls(): string[] {
        try {
            return readFileSync(join(this.d, "run/systemctl-standin/calls.log"), "utf8")
                .split("\n")
                .filter((l) => l !== "");
        } catch {
            return [];
        }
    }

    /** The end of the stand-in's containerd log. */
    standinLog(): string {
        try {
            return readFileSync(join(this.d, "run/systemctl-standin/containerd.log"), "utf8").slice(-2000);
        } catch {
            return "";
        }
    }

    read(abs: string): string {
        return readFileSync(this.p(abs), "utf8");
    }

    /** Every file under `abs` in the node (mode and content), for before/after comparisons. */
    snapshot(abs: string): Record<string, string> {
        const out: Record<string, string> = {};
        const walk = (dir: string): void => {
            let entries;
            try {
                entries = readdirSync(this.p(dir), { withFileTypes: true });
            } catch {
                return;
            }
            for (const e of entries) {
                const full = `${dir}/${e.name}`;
                if (e.isDirectory()) {
                    out[`${full}/`] = `dir ${(statSync(this.p(full)).mode & 0o7777).toString(8)}`;
                    walk(full);
                } else if (e.isSymbolicLink()) {
                    out[full] = `link ${readlinkSync(this.p(full))}`;
                } else {
                    const st = statSync(this.p(full));
                    out[full] = `${(st.mode & 0o7777).toString(8)} ${readFileSync(this.p(full), "base64")}`;
                }
            }
        };
        walk(abs);
        return out;
    }

    /** The files the scripts manage, and their state directory. */
    state(): Record<string, string> {
        return {
            ...this.snapshot("/etc/containerd"),
            ...this.snapshot("/etc/systemd/system"),
            ...this.snapshot("/var/lib/dragonfly-cce"),
        };
    }

    /**
     * The Secret's files as the kubelet writes a Secret volume (a timestamped directory, `..data`
     * pointing at it, one link per key), mode 0400.
     */
    private writeSecret(dir: string, files: AgentSecret): void {
        const data = join(dir, "..2026_12_05_00_00_00.000000000");
        mkdirSync(data, { recursive: true });
        for (const [name, content] of Object.entries(files)) {
            writeFileSync(join(data, name), content, { mode: 0o400 });
        }
        symlinkSync("..2026_12_05_00_00_00.000000000", join(dir, "..data"));
        for (const name of Object.keys(files)) {
            symlinkSync(`..data/${name}`, join(dir, name));
        }
    }

    /**
     * Writes an agent's Secret and service account directories and returns the `ctr run`
     * arguments that start it: privileged, in the node's PID namespace, the Secret at AGENT_MOUNT
     * (read-only), the service account's token and CA, the DaemonSet's environment.
     */
    agentRun(o: AgentOptions): { id: string; logFile: string; args: string[] } {
        const id = `agent-${++this.agents}`;
        const base = join(this.dir, id);
        const secretDir = join(base, "secret");
        const saDir = join(base, "serviceaccount");
        mkdirSync(secretDir, { recursive: true });
        mkdirSync(saDir, { recursive: true });
        this.writeSecret(secretDir, o.secret);
        writeFileSync(join(saDir, "token"), o.token, { mode: 0o644 });
        writeFileSync(join(saDir, "ca.crt"), readFileSync(o.caFile), { mode: 0o644 });
        writeFileSync(join(saDir, "namespace"), AGENT_NAMESPACE, { mode: 0o644 });
        const logFile = join(base, "container.log");
        const env: Record<string, string> = {
            PATH: IMAGE_PATH,
            [AGENT_ENV.nodeName]: o.nodeName,
            [AGENT_ENV.namespace]: AGENT_NAMESPACE,
            [AGENT_ENV.daemonSet]: AGENT_NAME,
            [AGENT_ENV.statusConfigMap]: STATUS_CONFIGMAP,
            [AGENT_ENV.resyncSeconds]: String(o.resyncSeconds ?? 600),
            KUBERNETES_SERVICE_HOST: "127.0.0.1",
            KUBERNETES_SERVICE_PORT: String(API_PORT),
        };
        const args = [
            "run",
            "-d",
            "--privileged",
            "--with-ns",
            "pid:/proc/1/ns/pid",
            "--cgroup",
            `${this.node.cgroupRoot}/${id}`,
            "--log-uri",
            `file://${logFile}`,
            "--mount",
            `type=bind,src=${secretDir},dst=${AGENT_MOUNT},options=rbind:ro`,
            "--mount",
            `type=bind,src=${saDir},dst=${SERVICE_ACCOUNT_DIR},options=rbind:ro`,
            ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
            AGENT_IMAGE,
            id,
            ...AGENT_COMMAND,
        ];
        return { id, logFile, args };
    }

    /** Starts an agent container (see {@link agentRun}). */
    async startAgent(o: AgentOptions): Promise<Agent> {
        const { id, logFile, args } = this.agentRun(o);
        const agent = new Agent(this, id, logFile);
        await this.ctr(args);
        return agent;
    }
}

/** What an agent container gets. */
export interface AgentOptions {
    /** The Secret's files (`secretOfStack`, `secretOfSpec`). */
    secret: AgentSecret;
    token: string;
    caFile: string;
    nodeName: string;
    resyncSeconds?: number;
}

/** The summary line's `restarted=` (the way tests/node counts restarts). */
export function restartedOf(summary: string): "yes" | "no" {
    const m = /restarted=(yes|no)$/.exec(summary);
    if (!m) {
        throw new Error(`not a summary line: ${summary}`);
    }
    return m[1] as "yes" | "no";
}

/** The summary lines in an agent's log. */
export function summaries(log: string): string[] {
    return log.split("\n").filter((l) => /^dragonfly-cce: changed=\S+, restarted=(yes|no)$/.test(l));
}
