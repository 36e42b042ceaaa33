/**
 * The local world: what `./scripts/up.sh` deploys to when no CCE cluster is named, and what the
 * engine suite runs the real Pulumi CLI against. Everything lives in network namespaces named
 * after this process's pid (nothing is added to the machine's own network namespace):
 *
 *   hub     198.18.0.1    the "operator's machine": kine, kube-apiserver (127.0.0.1:6443 in the
 *                         hub), kube-controller-manager, the ELB stand-in; the Pulumi CLI, helm
 *                         and ssh run here too (`ip netns exec <hub> ...`)
 *   dfly    198.18.0.2    the Dragonfly client stand-in: proxy and mirror on :4001, metrics on
 *                         :4002; the ELB stand-in gives the proxy Service this address
 *   reg     198.18.0.3    docker-registry on :5000 (HTTP), holding the image the pull check pulls
 *   node-N  198.18.0.(9+N) one node each: sshd and real containerd in a mount namespace
 *   kubelet-1 198.18.0.20 the pool's node (kubeletNode.ts): a real kubelet, its own containerd,
 *                         CNI bridge (pods on 10.244.0.0/24, routed from the hub) and kube-proxy,
 *                         in PID and mount namespaces of its own; labelled
 *                         `cce.cloud.com/cce-nodepool=local-pool`; its pods run the stand-in
 *                         images of images.ts
 *
 * The control plane authorizes as a cluster does (Node,RBAC, NodeRestriction; the kubelet has a
 * node token) and runs kube-scheduler, so the release rolls out with Helm's wait and atomic.
 * The SSH nodes' node ports lead to the kubelet node (leadNodePortsTo: a stand-in for kube-proxy
 * on every node), so the console rotation reaches the console at node-1's own address, as on CCE.
 * CCE's `csi-disk` StorageClass is static hostPath volumes in the node's directory.
 *
 * What the kubelet changes on the machine (sysctls, cgroups) is undone by destroy(), which
 * compares the machine with what start() saw (machine-state.json).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";

import { makeCa, makeLeaf } from "./certs";
import { ControlPlane } from "./controlPlane";
import { run } from "./exec";
import { buildImage, pushImage } from "./image";
import { buildStandinImages, StandinArchive } from "./images";
import { KubeletNode, machineState, MachineState } from "./kubeletNode";
import { createNetwork, destroyNamespaces, Network, removeStaleNamespaces } from "./netns";
import { NodeHost } from "./node";
import { Registry } from "./registry";
import { Standin } from "./standin";
import { containerdConfigHead } from "./world";
import { toolPath } from "../tools";

export const LOCAL_ADDR = { hub: "198.18.0.1", dfly: "198.18.0.2", reg: "198.18.0.3", kubelet: "198.18.0.20" } as const;
export const PROXY_PORT = 4001;
export const METRICS_PORT = 4002;
export const REGISTRY_PORT = 5000;
/** The image the pull check pulls (pushed to the world's registry at start). */
export const CHECK_IMAGE = { repository: "local/hello", tag: "1" } as const;
/** The node pool name the world's stack uses (CCE's `cce.cloud.com/cce-nodepool` label value). */
export const LOCAL_POOL = "local-pool";
/** The kubelet node's name (the pool's one node). */
export const KUBELET_NODE = "kubelet-1";
/** CCE's default StorageClass, here static hostPath volumes. */
export const LOCAL_STORAGE_CLASS = "csi-disk";
/**
 * How many volumes the world provides: a release claims 8 (seed client 1, MySQL 1, Redis 6), and
 * a released hostPath volume is not bound again, so three installs' worth.
 */
export const LOCAL_VOLUMES = 24;

/** The address of node `i` (1-based). */
export function nodeAddress(i: number): string {
    return `198.18.0.${9 + i}`;
}

/** What a started world tells its users (written to `world.json`). */
export interface WorldInfo {
    /** The supervisor's pid: every process of the world is its descendant. */
    pid: number;
    /** The namespace to run pulumi, helm and ssh in. */
    hub: string;
    namespaces: string[];
    kubeconfig: string;
    /** The operator's private key (OpenSSH format) that every node accepts for root. */
    sshKey: string;
    /** `ssh.knownHosts` for the stack: one `HOST TYPE KEY` line per node. */
    knownHosts: string;
    nodes: { name: string; host: string; dir: string }[];
    /** The pool's kubelet node, and what its teardown needs if the supervisor is gone. */
    kubelet: {
        name: string;
        host: string;
        dir: string;
        pool: string;
        cgroupRoot: string;
        savedSysctls: Record<string, string>;
        /** Seconds from the start of its runtime to a Ready Node. */
        upSeconds: number;
    };
    /** The machine as start() found it (MachineState as JSON), compared by destroy(). */
    machineStateFile: string;
    proxyAddress: string;
    metricsUrl: string;
    registry: string;
    checkImage: string;
}

export interface LocalWorldOptions {
    /** The world's directory (state, logs, keys; not under /tmp: nodes get their own /tmp). */
    dir: string;
    /** How many SSH nodes (1 to 10: 198.18.0.10 to .19; the kubelet node is .20). */
    nodes: number;
}

/**
 * containerd's config.toml as a CCE node ships it (version 2, CRI plugin), with a private root,
 * on a node that already pulls from the in-house plain-HTTP registry (the world's).
 */
export function stockConfigToml(nodeDir: string): string {
    const registry = `${LOCAL_ADDR.reg}:${REGISTRY_PORT}`;
    return [
        containerdConfigHead(nodeDir),
        `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${registry}"]`,
        `  endpoint = ["http://${registry}"]`,
        "",
    ].join("\n");
}

export class LocalWorld {
    readonly pid = process.pid;
    readonly namespaces: string[] = [];
    net!: Network;
    controlPlane!: ControlPlane;
    registry!: Registry;
    standin!: Standin;
    readonly nodes: NodeHost[] = [];
    kubelet!: KubeletNode;
    /** The stand-in images in the kubelet node's containerd (images.ts). */
    images!: StandinArchive;
    private machineBefore?: MachineState;
    private destroyed = false;

    constructor(readonly opts: LocalWorldOptions) {
        if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 10) {
            throw new Error(`the local world has 1 to 10 SSH nodes, not ${opts.nodes}`);
        }
        removeStaleNamespaces();
        mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    }

    get infoFile(): string {
        return join(this.opts.dir, "world.json");
    }

    get machineStateFile(): string {
        return join(this.opts.dir, "machine-state.json");
    }

    async start(): Promise<WorldInfo> {
        const dir = this.opts.dir;
        this.machineBefore = machineState();
        writeFileSync(this.machineStateFile, `${JSON.stringify(this.machineBefore, null, 2)}\n`);
        const spec: Record<string, number[]> = { dfly: [2], reg: [3], [KUBELET_NODE]: [20] };
        for (let i = 1; i <= this.opts.nodes; i++) {
            spec[`node-${i}`] = [9 + i];
        }
        this.net = await createNetwork(this.pid, spec, this.namespaces);
        const hub = this.net.hub.netns;

        const sshDir = join(dir, "ssh");
        mkdirSync(sshDir, { recursive: true, mode: 0o700 });
        const sshKey = join(sshDir, "id_ed25519");
        await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dragonfly-cce-local", "-f", sshKey]);

        // crictl as a CCE node has it, configured for the node's containerd (what /etc/crictl.yaml
        // does on a node; the machine's /etc is never written).
        const binDir = join(dir, "node-bin");
        mkdirSync(binDir, { recursive: true });
        const socket = "unix:///run/containerd/containerd.sock";
        writeFileSync(join(binDir, "crictl.yaml"), `runtime-endpoint: ${socket}\nimage-endpoint: ${socket}\n`);
        writeFileSync(
            join(binDir, "crictl"),
            `#!/bin/sh\nexec ${toolPath("crictl")} --config ${join(binDir, "crictl.yaml")} "$@"\n`,
            { mode: 0o755 },
        );

        const dflyCa = await makeCa(dir, "dragonfly");
        const dflyLeaf = await makeLeaf(dir, "dragonfly-standin", dflyCa, [LOCAL_ADDR.dfly, LOCAL_ADDR.reg]);
        this.registry = new Registry({
            name: "registry",
            netns: this.net.hosts.reg.netns,
            listen: `0.0.0.0:${REGISTRY_PORT}`,
            reachAt: `${LOCAL_ADDR.reg}:${REGISTRY_PORT}`,
            dir,
        });
        this.standin = new Standin({
            netns: this.net.hosts.dfly.netns,
            host: LOCAL_ADDR.dfly,
            port: PROXY_PORT,
            metricsPort: METRICS_PORT,
            cert: dflyLeaf.cert,
            key: dflyLeaf.key,
            dir,
        });
        this.controlPlane = new ControlPlane({
            netns: hub,
            dir: join(dir, "control-plane"),
            loadBalancerAddress: LOCAL_ADDR.dfly,
            nodes: [KUBELET_NODE],
            advertiseAddress: LOCAL_ADDR.hub,
        });
        this.kubelet = new KubeletNode({
            hubNetns: hub,
            netns: this.net.hosts[KUBELET_NODE].netns,
            address: LOCAL_ADDR.kubelet,
            hubAddress: LOCAL_ADDR.hub,
            caFile: join(dir, "control-plane", "kube-ca.crt"),
            token: this.controlPlane.nodeToken(KUBELET_NODE),
            dnsToken: this.controlPlane.token,
            kubeProxyToken: this.controlPlane.proxyToken,
            dir: join(dir, KUBELET_NODE),
            nodeName: KUBELET_NODE,
            pool: LOCAL_POOL,
            apiGet: (p) => this.controlPlane.get(p),
        });
        for (let i = 1; i <= this.opts.nodes; i++) {
            const nodeDir = join(dir, `node-${i}`);
            mkdirSync(nodeDir, { recursive: true });
            this.nodes.push(
                new NodeHost({
                    netns: this.net.hosts[`node-${i}`].netns,
                    address: nodeAddress(i),
                    clientNetns: hub,
                    dir: nodeDir,
                    configToml: stockConfigToml(nodeDir),
                    clientKey: sshKey,
                    binDir,
                }),
            );
        }
        const images = buildStandinImages({ dir: join(dir, "images") });
        const nodePorts = this.nodes.map((n) => leadNodePortsTo(n.opts.netns, n.opts.address, LOCAL_ADDR.kubelet));
        await Promise.all([
            this.registry.start(hub),
            this.standin.start(),
            this.controlPlane.start().then(() => this.createVolumes()),
            ...this.nodes.map((n) => n.start()),
        ]);
        await Promise.all(nodePorts);
        // The kubelet node needs the control plane's CA (its files) and the images.
        this.images = await images;
        await this.kubelet.start(this.images);
        const image = buildImage(CHECK_IMAGE.repository, CHECK_IMAGE.tag, `local-world-${this.pid}`);
        await pushImage({ baseUrl: this.registry.baseUrl, netns: hub, workDir: join(dir, "push") }, image);

        const info: WorldInfo = {
            pid: this.pid,
            hub,
            namespaces: [...this.namespaces],
            kubeconfig: this.controlPlane.kubeconfigFile,
            sshKey,
            knownHosts: this.nodes.map((n) => readFileSync(join(n.sshDir, "known_hosts"), "utf8")).join(""),
            nodes: this.nodes.map((n, i) => ({ name: `node-${i + 1}`, host: n.opts.address, dir: n.opts.dir })),
            kubelet: {
                name: KUBELET_NODE,
                host: LOCAL_ADDR.kubelet,
                dir: this.kubelet.opts.dir,
                pool: LOCAL_POOL,
                cgroupRoot: this.kubelet.cgroupRoot,
                savedSysctls: { ...this.kubelet.savedSysctls },
                upSeconds: this.kubelet.upSeconds,
            },
            machineStateFile: this.machineStateFile,
            proxyAddress: `${LOCAL_ADDR.dfly}:${PROXY_PORT}`,
            metricsUrl: this.standin.metricsUrl,
            registry: `${LOCAL_ADDR.reg}:${REGISTRY_PORT}`,
            checkImage: `${LOCAL_ADDR.reg}:${REGISTRY_PORT}/${CHECK_IMAGE.repository}:${CHECK_IMAGE.tag}`,
        };
        writeFileSync(this.infoFile, `${JSON.stringify(info, null, 2)}\n`);
        return info;
    }

    /** CCE's csi-disk StorageClass: static hostPath volumes in the kubelet node's directory. */
    private async createVolumes(): Promise<void> {
        const post = async (path: string, obj: unknown) => {
            const r = await this.controlPlane.api("POST", path, obj);
            if (r.code !== 0) {
                throw new Error(`POST ${path} failed (curl exit ${r.code}): ${r.stdout}${r.stderr}`);
            }
        };
        await post("/apis/storage.k8s.io/v1/storageclasses", {
            apiVersion: "storage.k8s.io/v1",
            kind: "StorageClass",
            metadata: { name: LOCAL_STORAGE_CLASS },
            provisioner: "kubernetes.io/no-provisioner",
            volumeBindingMode: "Immediate",
        });
        for (let i = 0; i < LOCAL_VOLUMES; i++) {
            await post("/api/v1/persistentvolumes", {
                apiVersion: "v1",
                kind: "PersistentVolume",
                metadata: { name: `local-pv-${i}` },
                spec: {
                    storageClassName: LOCAL_STORAGE_CLASS,
                    capacity: { storage: "100Gi" },
                    accessModes: ["ReadWriteOnce"],
                    persistentVolumeReclaimPolicy: "Retain",
                    hostPath: { path: join(this.opts.dir, KUBELET_NODE, "pv", String(i)), type: "DirectoryOrCreate" },
                },
            });
        }
    }

    /** Processes of the world that ended on their own (empty while it is healthy). */
    exited(): string[] {
        return this.controlPlane?.exited() ?? [];
    }

    /**
     * Ends every process of the world (the kubelet node first, then those it started by pid,
     * then anything left inside its namespaces), deletes the namespaces and undoes what the
     * kubelet changed on the machine. The directory stays (logs). Returns what is left: the
     * namespaces that could not be removed, the kubelet node's leftovers (KubeletNode.leftovers)
     * and every difference between the machine now and as start() found it.
     */
    async destroy(): Promise<string[]> {
        if (this.destroyed) {
            return [];
        }
        this.destroyed = true;
        const left: string[] = [];
        if (this.kubelet) {
            left.push(...(await this.kubelet.stop()));
        }
        this.controlPlane?.stop();
        for (const p of [...this.nodes, this.standin, this.registry]) {
            p?.stop();
        }
        left.push(...destroyNamespaces(this.namespaces).map((n) => `namespace ${n}`));
        if (this.machineBefore) {
            left.push(...machineDifferences(this.machineBefore, machineState()));
        }
        return left;
    }
}

/**
 * A CCE node runs kube-proxy, so a Service's node port answers on every node: the console
 * rotation reaches the console at its first node's own address. The SSH nodes here are not
 * cluster nodes; this stand-in leads their node-port range (30000-32767, TCP) to the kubelet
 * node, whose kube-proxy leads it to the Service's pods. DNAT in the node's own network
 * namespace, for connections from elsewhere (PREROUTING) and from the node itself (OUTPUT).
 */
async function leadNodePortsTo(netns: string, address: string, kubeletAddress: string): Promise<void> {
    for (const chain of ["PREROUTING", "OUTPUT"]) {
        await run(
            "iptables",
            [
                "-t",
                "nat",
                "-A",
                chain,
                "-d",
                address,
                "-p",
                "tcp",
                "--dport",
                "30000:32767",
                "-m",
                "comment",
                "--comment",
                "dragonfly-cce local world: node ports lead to the kubelet node (kube-proxy stand-in)",
                "-j",
                "DNAT",
                "--to-destination",
                kubeletAddress,
            ],
            { netns },
        );
    }
}

/** What differs between two machine states, one line per difference (empty: the same). */
export function machineDifferences(before: MachineState, after: MachineState): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(before.sysctls)) {
        if (after.sysctls[k] !== v) {
            out.push(`sysctl ${k} = ${after.sysctls[k]} (was ${v})`);
        }
    }
    const lists: Array<[string, string[], string[]]> = [
        ["iptables chain", before.iptablesChains, after.iptablesChains],
        ["mount", before.mounts, after.mounts],
        ["cgroup", before.kubepodsCgroups, after.kubepodsCgroups],
    ];
    for (const [what, b, a] of lists) {
        out.push(...a.filter((x) => !b.includes(x)).map((x) => `${what} ${x} added`));
        out.push(...b.filter((x) => !a.includes(x)).map((x) => `${what} ${x} removed`));
    }
    if (after.devicePluginSocket !== before.devicePluginSocket) {
        out.push(`device-plugin socket ${after.devicePluginSocket ? "added" : "removed"}`);
    }
    return out;
}

/**
 * Undoes what a world whose supervisor is gone left on the machine (run after its namespaces'
 * processes were ended): the kubelet node's cgroups and sysctls, from world.json. Returns what is
 * still left, as destroy() does.
 */
export function cleanupAfterSupervisor(dir: string): string[] {
    const infoFile = join(dir, "world.json");
    if (!existsSync(infoFile)) {
        return [];
    }
    const info = JSON.parse(readFileSync(infoFile, "utf8")) as WorldInfo;
    const node = new KubeletNode({
        hubNetns: info.hub,
        netns: "",
        address: info.kubelet.host,
        caFile: "",
        token: "",
        dir: info.kubelet.dir,
        nodeName: info.kubelet.name,
        pool: info.kubelet.pool,
        cgroupRoot: info.kubelet.cgroupRoot,
        apiGet: () => Promise.resolve({ code: 1, stdout: "", stderr: "" }),
    });
    const left = node.restoreMachine(info.kubelet.savedSysctls);
    const before = JSON.parse(readFileSync(info.machineStateFile, "utf8")) as MachineState;
    return [...left, ...machineDifferences(before, machineState())];
}
