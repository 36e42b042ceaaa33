/**
 * The kubelet node of the local world: a real kubelet with its own containerd, in a network
 * namespace of the caller's, and in a PID and a mount namespace of its own whose PID 1 is the
 * node's init (kubelet-node-init.sh). So a hostPID pod's `nsenter -t 1 -m` enters the node, never
 * the machine (whose PID 1 cannot be entered here: kubelet-world-notes.md).
 *
 * Inside the node's mount namespace, run-private directories are mounted over /run,
 * /etc/containerd and /var/log, and /var/lib is an overlay with a run-private
 * upper layer: containerd's socket, config.toml, the kubelet's root dir (and its fixed
 * /var/lib/kubelet/device-plugins/kubelet.sock), pod logs and every pod mount live in the node
 * only. The node's network namespace holds the CNI bridge, the kubelet's iptables chains and
 * net.ipv4.ip_forward. What the kubelet still changes on the machine is undone by `stop()`:
 * the kernel sysctls it sets (restored to the values seen at start) and its cgroups (under a
 * cgroup root of this node's own, removed).
 *
 * The API server listens on the hub's loopback; kubelet-bridge.js relays the node's
 * 127.0.0.1:6443 to it through a unix socket. dns-standin.js answers cluster DNS names in the node.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import {
    closeSync,
    existsSync,
    mkdirSync,
    openSync,
    readdirSync,
    readFileSync,
    rmdirSync,
    statSync,
    writeFileSync,
} from "fs";
import { join } from "path";

import { toolPath } from "../tools";
import { run, RunResult, waitFor } from "./exec";
import { importStandinImages, PAUSE_IMAGE, StandinArchive } from "./images";

/** The label CCE gives a node pool's nodes. */
export const POOL_LABEL = "cce.cloud.com/cce-nodepool";

/** Kernel sysctls the kubelet sets (machine-wide: not per network namespace). */
export const KUBELET_SYSCTLS = ["vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"] as const;

/** The fixed path the kubelet's device-plugin socket takes when it is not contained. */
export const DEVICE_PLUGIN_SOCKET = "/var/lib/kubelet/device-plugins/kubelet.sock";

const CGROUP_BASE = "/sys/fs/cgroup";
/** Controllers the kubelet needs (cgroup v1). */
const CGROUP_CONTROLLERS = [
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "pids",
    "blkio",
    "devices",
    "freezer",
    "hugetlb",
    "systemd",
    "unified",
];

export interface KubeletNodeOptions {
    /** The hub namespace (the API server is on its loopback, port 6443). */
    hubNetns: string;
    /** The node's network namespace (made by the caller, e.g. with createNetwork). */
    netns: string;
    /** The node's address on its eth0 (the Node's InternalIP). */
    address: string;
    /** The control plane's CA certificate file. */
    caFile: string;
    /** The kubelet's token (a node token: user `system:node:<nodeName>`, group `system:nodes`). */
    token: string;
    /** The token the DNS stand-in lists Services and Endpoints with (CoreDNS's role). Default: `token`. */
    dnsToken?: string;
    /**
     * Runs kube-proxy (iptables mode) in the node's network namespace with this token (user
     * `system:kube-proxy`), so ClusterIP and NodePort Services carry traffic in the node.
     */
    kubeProxyToken?: string;
    /**
     * The hub's address on the node's network: the node's default route goes through it (a
     * ClusterIP needs a route before kube-proxy rewrites it), and the hub gets a route to the
     * node's pod subnet (pods reach the hub's API server and get the answer back).
     */
    hubAddress?: string;
    /** The node's directory (state, logs). Not under /tmp. */
    dir: string;
    nodeName: string;
    /** The node pool (CCE's `cce.cloud.com/cce-nodepool` label). */
    pool: string;
    /** GET against the API server (the control plane's, e.g. `(p) => controlPlane.get(p)`). */
    apiGet: (path: string) => Promise<RunResult>;
    /** Pod subnet on the node's CNI bridge (default 10.244.0.0/24; the bridge is .1). */
    podSubnet?: string;
    /** The node's cgroup root (default `/dfcce-kubelet-<this process's pid>`). */
    cgroupRoot?: string;
}

/** What the machine looked like, for a before/after comparison of a teardown. */
export interface MachineState {
    sysctls: Record<string, string>;
    /** `iptables-save` of the machine's namespace, chain names only. */
    iptablesChains: string[];
    /**
     * Mount points of the machine's mount namespace, without /run/netns (where `ip netns` mounts
     * every network namespace, this run's and any other's).
     */
    mounts: string[];
    /** Whether the fixed device-plugin socket exists. */
    devicePluginSocket: boolean;
    /** kubepods cgroups directly under a controller's root. */
    kubepodsCgroups: string[];
}

function sysctl(name: string): string {
    return readFileSync(`/proc/sys/${name.replace(/\./g, "/")}`, "utf8").trim();
}

function setSysctl(name: string, value: string): void {
    writeFileSync(`/proc/sys/${name.replace(/\./g, "/")}`, `${value}\n`);
}

/** The machine's state as the kubelet could change it (run in the machine's namespaces). */
export function machineState(): MachineState {
    const sysctls: Record<string, string> = {};
    for (const s of [...KUBELET_SYSCTLS, "net.ipv4.ip_forward"]) {
        sysctls[s] = sysctl(s);
    }
    let iptablesChains: string[];
    try {
        iptablesChains = execFileSync("iptables-save", [], { encoding: "utf8" })
            .split("\n")
            .filter((l) => l.startsWith(":") || l.startsWith("*"))
            .map((l) => l.split(" ")[0])
            .sort();
    } catch {
        iptablesChains = ["(iptables-save failed)"];
    }
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split(" ")[4])
        .filter((m) => m !== "/run/netns" && !m.startsWith("/run/netns/"))
        .sort();
    const kubepodsCgroups = CGROUP_CONTROLLERS.map((c) => join(CGROUP_BASE, c, "kubepods")).filter((p) =>
        existsSync(p),
    );
    return { sysctls, iptablesChains, mounts, devicePluginSocket: existsSync(DEVICE_PLUGIN_SOCKET), kubepodsCgroups };
}

/** Kubelet's configuration file (KubeletConfiguration, kubelet-world-notes.md). */
export function kubeletConfiguration(o: { cgroupRoot: string; dns: string; resolvConf: string }): string {
    return JSON.stringify(
        {
            apiVersion: "kubelet.config.k8s.io/v1beta1",
            kind: "KubeletConfiguration",
            address: "127.0.0.1",
            port: 10250,
            healthzBindAddress: "127.0.0.1",
            healthzPort: 10248,
            readOnlyPort: 0,
            authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
            authorization: { mode: "AlwaysAllow" },
            cgroupDriver: "cgroupfs",
            cgroupRoot: o.cgroupRoot,
            containerRuntimeEndpoint: "unix:///run/containerd/containerd.sock",
            failSwapOn: false,
            failCgroupV1: false,
            podLogsDir: "/var/log/pods",
            clusterDNS: [o.dns],
            clusterDomain: "cluster.local",
            resolvConf: o.resolvConf,
            maxPods: 30,
            serializeImagePulls: false,
            evictionHard: {
                "memory.available": "1Mi",
                "nodefs.available": "1%",
                "nodefs.inodesFree": "1%",
                "imagefs.available": "1%",
            },
            imageGCHighThresholdPercent: 100,
            imageGCLowThresholdPercent: 99,
            registerNode: true,
        },
        null,
        2,
    );
}

/** A kubeconfig for a process in the node: the API server through the node's relay, a token file. */
export function nodeKubeconfig(caBase64: string, tokenFile: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: local",
        "  cluster:",
        "    server: https://127.0.0.1:6443",
        `    certificate-authority-data: ${caBase64}`,
        "users:",
        "- name: node",
        "  user:",
        `    tokenFile: ${tokenFile}`,
        "contexts:",
        "- name: local",
        "  context: {cluster: local, user: node}",
        "current-context: local",
        "",
    ].join("\n");
}

/**
 * kube-proxy's configuration (KubeProxyConfiguration): iptables mode in the node's network
 * namespace; everything it would change outside that namespace is off (conntrack table size
 * and timeouts are machine-wide sysctls; its OOM score needs CAP_SYS_RESOURCE; localhost node
 * ports would set route_localnet), and it serves health and metrics on the node's loopback.
 */
export function kubeProxyConfiguration(o: { kubeconfig: string; nodeName: string; clusterCidr: string }): string {
    return JSON.stringify(
        {
            apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
            kind: "KubeProxyConfiguration",
            clientConnection: { kubeconfig: o.kubeconfig },
            mode: "iptables",
            hostnameOverride: o.nodeName,
            clusterCIDR: o.clusterCidr,
            bindAddress: "127.0.0.1",
            healthzBindAddress: "127.0.0.1:10256",
            metricsBindAddress: "127.0.0.1:10249",
            oomScoreAdj: 0,
            conntrack: {
                maxPerCore: 0,
                min: 0,
                tcpEstablishedTimeout: "0s",
                tcpCloseWaitTimeout: "0s",
            },
            iptables: { localhostNodePorts: false, syncPeriod: "10s", minSyncPeriod: "0s" },
        },
        null,
        2,
    );
}

/** containerd's config.toml for the node (version 2; kubelet-world-notes.md). */
export function nodeContainerdConfig(d: string): string {
    return [
        "version = 2",
        `root = "${join(d, "containerd-root")}"`,
        'state = "/run/containerd/state"',
        "",
        "[grpc]",
        '  address = "/run/containerd/containerd.sock"',
        "",
        "[metrics]",
        '  address = ""',
        "",
        "[plugins]",
        '  [plugins."io.containerd.grpc.v1.cri"]',
        `    sandbox_image = "${PAUSE_IMAGE}"`,
        "    restrict_oom_score_adj = true",
        '    stream_server_address = "127.0.0.1"',
        '    stream_server_port = "0"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd]',
        '      default_runtime_name = "runc"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '        runtime_type = "io.containerd.runc.v2"',
        '        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        "          SystemdCgroup = false",
        '    [plugins."io.containerd.grpc.v1.cri".cni]',
        '      bin_dir = "/usr/lib/cni"',
        `      conf_dir = "${join(d, "cni")}"`,
        "      max_conf_num = 1",
        '  [plugins."io.containerd.internal.v1.opt"]',
        `    path = "${join(d, "containerd-opt")}"`,
        "",
    ].join("\n");
}

/** The CNI bridge conflist (Debian's containernetworking-plugins). */
export function cniConflist(d: string, subnet: string, gateway: string): string {
    return JSON.stringify(
        {
            cniVersion: "0.4.0",
            name: "kubelet-world",
            plugins: [
                {
                    type: "bridge",
                    bridge: "kw0",
                    isGateway: true,
                    ipMasq: false,
                    hairpinMode: true,
                    ipam: {
                        type: "host-local",
                        ranges: [[{ subnet, gateway }]],
                        dataDir: join(d, "cni-ipam"),
                    },
                },
                { type: "portmap", capabilities: { portMappings: true } },
            ],
        },
        null,
        2,
    );
}

/** The node's PID 1: mounts the node's private paths, runs its daemons, reaps orphans. */
function initScript(d: string, kubeletArgs: string[], kubeProxy: boolean): string {
    const tool = (n: string) => toolPath(n);
    return [
        "#!/usr/bin/env bash",
        "# PID 1 of the kubelet node (written by tests/helpers/world/kubeletNode.ts).",
        "set -euo pipefail",
        `d=${d}`,
        'mount --bind "$d/run" /run',
        'mount --bind "$d/etc-containerd" /etc/containerd',
        'mount --bind "$d/var-log" /var/log',
        'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$d/varlib-upper,workdir=$d/varlib-work" /var/lib',
        "mkdir -p /run/containerd",
        "",
        "children=()",
        "trap 'kill -TERM \"${children[@]}\" 2>/dev/null || true; exit 0' TERM INT",
        "",
        `${process.execPath} ${join(__dirname, "kubelet-bridge.js")} tcp:127.0.0.1:6443 "unix:$d/api.sock" >>"$d/bridge.log" 2>&1 &`,
        "children+=($!)",
        `${process.execPath} ${join(__dirname, "dns-standin.js")} "$d/dns.json" >>"$d/dns.log" 2>&1 &`,
        "children+=($!)",
        'containerd --config /etc/containerd/config.toml >>"$d/containerd.log" 2>&1 &',
        "children+=($!)",
        "",
        "# The kubelet starts once the stand-in images are in containerd (the test imports them).",
        'until [[ -e "$d/images-imported" ]]; do sleep 0.2; done',
        `${tool("kubelet")} ${kubeletArgs.join(" ")} >>"$d/kubelet.log" 2>&1 &`,
        "children+=($!)",
        ...(kubeProxy
            ? [
                  `${tool("kube-proxy")} --config="$d/kube-proxy-config.json" >>"$d/kube-proxy.log" 2>&1 &`,
                  "children+=($!)",
              ]
            : []),
        "",
        "# As PID 1: reap every orphan until told to stop.",
        "while true; do",
        "  wait -n || sleep 1",
        "done",
        "",
    ].join("\n");
}

export class KubeletNode {
    private init?: ChildProcess;
    private bridge?: ChildProcess;
    /** The machine's values of the sysctls the kubelet sets, as start() found them. */
    readonly savedSysctls: Record<string, string> = {};
    readonly cgroupRoot: string;
    readonly gateway: string;
    /** Seconds from start() to a Ready Node. */
    upSeconds = 0;
    private t0 = 0;

    constructor(readonly opts: KubeletNodeOptions) {
        this.cgroupRoot = opts.cgroupRoot ?? `/dfcce-kubelet-${process.pid}`;
        const subnet = opts.podSubnet ?? "10.244.0.0/24";
        this.gateway = subnet.replace(/\.0\/\d+$/, ".1");
    }

    /** containerd's socket, as seen from the machine. */
    get containerdSocket(): string {
        return join(this.opts.dir, "run", "containerd", "containerd.sock");
    }

    /** The node's init, as a pid of the machine (a hostPID pod sees it as PID 1). */
    get initPid(): number | undefined {
        const pid = this.init?.pid;
        if (pid === undefined) {
            return undefined;
        }
        // nsenter execs unshare, whose one child is the namespace's PID 1.
        const child = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
        return child ? Number(child) : undefined;
    }

    private writeFiles(): string[] {
        const d = this.opts.dir;
        for (const sub of ["run", "etc-containerd", "cni", "var-log", "varlib-upper", "varlib-work", "cni-ipam"]) {
            mkdirSync(join(d, sub), { recursive: true });
        }
        const subnet = this.opts.podSubnet ?? "10.244.0.0/24";
        writeFileSync(join(d, "etc-containerd", "config.toml"), nodeContainerdConfig(d));
        writeFileSync(join(d, "cni", "10-kubelet-world.conflist"), cniConflist(d, subnet, this.gateway));
        writeFileSync(join(d, "pod-resolv.conf"), `nameserver ${this.gateway}\n`);
        writeFileSync(join(d, "token"), this.opts.token, { mode: 0o600 });
        writeFileSync(join(d, "dns-token"), this.opts.dnsToken ?? this.opts.token, { mode: 0o600 });
        writeFileSync(
            join(d, "dns.json"),
            JSON.stringify({
                listen: { host: "0.0.0.0", port: 53 },
                server: "https://127.0.0.1:6443",
                ca: this.opts.caFile,
                tokenFile: join(d, "dns-token"),
                domain: "cluster.local",
            }),
        );
        writeFileSync(
            join(d, "kubelet-config.json"),
            kubeletConfiguration({
                cgroupRoot: this.cgroupRoot,
                dns: this.gateway,
                resolvConf: join(d, "pod-resolv.conf"),
            }),
        );
        const ca = readFileSync(this.opts.caFile).toString("base64");
        if (this.opts.kubeProxyToken !== undefined) {
            writeFileSync(join(d, "kube-proxy-token"), this.opts.kubeProxyToken, { mode: 0o600 });
            writeFileSync(join(d, "kube-proxy.kubeconfig"), nodeKubeconfig(ca, join(d, "kube-proxy-token")), {
                mode: 0o600,
            });
            writeFileSync(
                join(d, "kube-proxy-config.json"),
                kubeProxyConfiguration({
                    kubeconfig: join(d, "kube-proxy.kubeconfig"),
                    nodeName: this.opts.nodeName,
                    clusterCidr: subnet,
                }),
            );
        }
        writeFileSync(join(d, "kubelet.kubeconfig"), nodeKubeconfig(ca, join(d, "token")), { mode: 0o600 });
        return [
            `--config=${join(d, "kubelet-config.json")}`,
            `--kubeconfig=${join(d, "kubelet.kubeconfig")}`,
            `--hostname-override=${this.opts.nodeName}`,
            `--node-ip=${this.opts.address}`,
            `--node-labels=${POOL_LABEL}=${this.opts.pool}`,
            "--v=1",
        ];
    }

    /** The node's own cgroup root in every controller (the kubelet wants it to exist). */
    private makeCgroupRoot(): void {
        for (const c of CGROUP_CONTROLLERS) {
            const base = join(CGROUP_BASE, c);
            if (!existsSync(base)) {
                continue;
            }
            const dir = join(base, this.cgroupRoot);
            mkdirSync(dir, { recursive: true });
            if (c === "cpuset") {
                for (const f of ["cpuset.cpus", "cpuset.mems"]) {
                    writeFileSync(join(dir, f), readFileSync(join(base, f)));
                }
            }
        }
    }

    /**
     * Starts the node's init (containerd, the DNS stand-in, the API relay) and imports the
     * stand-in images. The kubelet waits for {@link startKubelet}.
     */
    async startRuntime(images: StandinArchive, o: { importImages?: boolean } = {}): Promise<void> {
        this.t0 = Date.now();
        const d = this.opts.dir;
        mkdirSync(d, { recursive: true });
        for (const s of KUBELET_SYSCTLS) {
            this.savedSysctls[s] = sysctl(s);
        }
        const kubeletArgs = this.writeFiles();
        this.makeCgroupRoot();
        if (this.opts.hubAddress !== undefined) {
            const subnet = this.opts.podSubnet ?? "10.244.0.0/24";
            await run("ip", ["-n", this.opts.netns, "route", "replace", "default", "via", this.opts.hubAddress]);
            await run("ip", ["-n", this.opts.hubNetns, "route", "replace", subnet, "via", this.opts.address]);
        }

        const bridgeLog = openSync(join(d, "hub-bridge.log"), "a");
        this.bridge = spawn(
            "ip",
            [
                "netns",
                "exec",
                this.opts.hubNetns,
                process.execPath,
                join(__dirname, "kubelet-bridge.js"),
                `unix:${join(d, "api.sock")}`,
                "tcp:127.0.0.1:6443",
            ],
            { stdio: ["ignore", bridgeLog, bridgeLog] },
        );
        closeSync(bridgeLog);

        const script = join(d, "node-init.sh");
        writeFileSync(script, initScript(d, kubeletArgs, this.opts.kubeProxyToken !== undefined), { mode: 0o755 });
        const log = openSync(join(d, "node-init.log"), "a");
        // nsenter --net, not `ip netns exec`: that one mounts a new /sys, without the cgroup
        // mounts runc needs. unshare --fork makes bash PID 1 of the new PID namespace
        // (--kill-child: it dies with unshare); --mount-proc gives the namespace its own /proc.
        this.init = spawn(
            "nsenter",
            [
                `--net=/run/netns/${this.opts.netns}`,
                "--",
                "unshare",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount",
                "--mount-proc",
                "--propagation",
                "private",
                "bash",
                script,
            ],
            { stdio: ["ignore", log, log] },
        );
        closeSync(log);

        await waitFor(
            "the kubelet node's containerd",
            async () => {
                this.assertInitRunning();
                const r = await run("ctr", ["--address", this.containerdSocket, "version"], { allowFailure: true });
                return r.code === 0 ? true : undefined;
            },
            60_000,
        );
        if (o.importImages !== false) {
            await importStandinImages(this.containerdSocket, images);
        }
    }

    /** Lets the node's init start the kubelet and waits for the Node to be Ready. */
    async startKubelet(): Promise<void> {
        writeFileSync(join(this.opts.dir, "images-imported"), "");
        await this.waitReady(180_000);
        this.upSeconds = (Date.now() - this.t0) / 1000;
    }

    /** {@link startRuntime}, then {@link startKubelet}. */
    async start(images: StandinArchive): Promise<void> {
        await this.startRuntime(images);
        await this.startKubelet();
    }

    private assertInitRunning(): void {
        if (this.init?.exitCode !== null || this.init.signalCode !== null) {
            throw new Error(`the kubelet node's init exited:\n${this.log("node-init")}\n${this.log("containerd")}`);
        }
    }

    /** Waits until the Node reports Ready. */
    async waitReady(timeoutMs: number): Promise<void> {
        await waitFor(
            `Node ${this.opts.nodeName} Ready`,
            async () => {
                this.assertInitRunning();
                const r = await this.opts.apiGet(`/api/v1/nodes/${this.opts.nodeName}`);
                if (r.code !== 0) {
                    return undefined;
                }
                const node = JSON.parse(r.stdout) as {
                    status?: { conditions?: Array<{ type: string; status: string }> };
                };
                return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
                    ? true
                    : undefined;
            },
            timeoutMs,
        ).catch((e: Error) => {
            throw new Error(`${e.message}\nkubelet log:\n${this.log("kubelet")}`);
        });
    }

    /** Runs a command inside the node (its PID, mount and network namespaces, entered via its init). */
    exec(cmd: string[], opts: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
        const pid = this.initPid;
        if (pid === undefined) {
            throw new Error("the kubelet node is not running");
        }
        return run("nsenter", ["-t", String(pid), "-p", "-m", "-n", "--", ...cmd], opts);
    }

    /** The last part of one of the node's logs (kubelet, containerd, node-init, dns, bridge). */
    log(name: string): string {
        try {
            return readFileSync(join(this.opts.dir, `${name}.log`), "utf8").slice(-4000);
        } catch {
            return "";
        }
    }

    /**
     * Ends the node: its init and with it every process of its PID namespace (the kernel kills
     * them when PID 1 exits), and the hub relay. Then removes the node's cgroups and restores the
     * sysctls the kubelet set. Mounts go with the mount namespace, the bridge and iptables chains
     * with the network namespace (the caller deletes it). Returns what is left (see leftovers()).
     */
    async stop(): Promise<string[]> {
        for (const p of [this.init, this.bridge]) {
            if (p && p.exitCode === null && p.signalCode === null) {
                const exited = new Promise<void>((r) => p.once("exit", () => r()));
                p.kill("SIGKILL");
                await exited;
            }
        }
        // unshare --kill-child SIGKILLs the node's PID 1; wait for the namespace to empty.
        await waitFor(
            "the kubelet node's processes to end",
            async () => (this.cgroupTasks() === 0 ? true : undefined),
            30_000,
        ).catch(() => undefined);
        return this.restoreMachine(this.savedSysctls);
    }

    /**
     * Removes the node's cgroups and sets the kubelet's sysctls back to `saved`; returns what is
     * left (leftovers()). stop() ends with it; a world whose supervisor died calls it on a node
     * made from what the world recorded (its cgroup root, the saved values), once the node's
     * processes are gone.
     */
    restoreMachine(saved: Record<string, string>): string[] {
        Object.assign(this.savedSysctls, saved);
        this.removeCgroups();
        for (const [s, v] of Object.entries(this.savedSysctls)) {
            if (sysctl(s) !== v) {
                setSysctl(s, v);
            }
        }
        return this.leftovers();
    }

    private cgroupTasks(): number {
        let n = 0;
        const walk = (dir: string) => {
            if (!existsSync(dir)) {
                return;
            }
            const procs = join(dir, "cgroup.procs");
            if (existsSync(procs)) {
                n += readFileSync(procs, "utf8")
                    .split("\n")
                    .filter((l) => l !== "").length;
            }
            for (const e of readdirSync(dir)) {
                if (statSync(join(dir, e)).isDirectory()) {
                    walk(join(dir, e));
                }
            }
        };
        walk(join(CGROUP_BASE, "memory", this.cgroupRoot));
        walk(join(CGROUP_BASE, "pids", this.cgroupRoot));
        return n;
    }

    /** rmdir of the node's cgroup trees, deepest first (cgroup directories hold no files to delete). */
    private removeCgroups(): void {
        const remove = (dir: string) => {
            for (const e of readdirSync(dir)) {
                if (statSync(join(dir, e)).isDirectory()) {
                    remove(join(dir, e));
                }
            }
            try {
                rmdirSync(dir);
            } catch {
                /* reported by leftovers() */
            }
        };
        for (const c of CGROUP_CONTROLLERS) {
            const dir = join(CGROUP_BASE, c, this.cgroupRoot);
            if (existsSync(dir)) {
                remove(dir);
            }
        }
    }

    /** What this node left on the machine: processes, cgroups, sysctls, the device-plugin socket. */
    leftovers(): string[] {
        const left: string[] = [];
        for (const [name, p] of [
            ["node init", this.init],
            ["hub relay", this.bridge],
        ] as const) {
            if (p && p.exitCode === null && p.signalCode === null) {
                left.push(`${name} (pid ${p.pid}) still runs`);
            }
        }
        for (const c of CGROUP_CONTROLLERS) {
            const dir = join(CGROUP_BASE, c, this.cgroupRoot);
            if (existsSync(dir)) {
                left.push(`cgroup ${dir}`);
            }
        }
        for (const [s, v] of Object.entries(this.savedSysctls)) {
            if (sysctl(s) !== v) {
                left.push(`sysctl ${s} = ${sysctl(s)} (was ${v})`);
            }
        }
        if (existsSync(DEVICE_PLUGIN_SOCKET)) {
            left.push(DEVICE_PLUGIN_SOCKET);
        }
        const ours = readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .filter((l) => l.includes(this.opts.dir));
        left.push(...ours.map((l) => `mount ${l.split(" ")[4]}`));
        return left;
    }
}
