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
 *
 * There is no kubelet: no pod runs, so the release is installed with `releaseSkipAwait`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";

import { makeCa, makeLeaf } from "./certs";
import { ControlPlane } from "./controlPlane";
import { run } from "./exec";
import { buildImage, pushImage } from "./image";
import { createNetwork, destroyNamespaces, Network, removeStaleNamespaces } from "./netns";
import { NodeHost } from "./node";
import { Registry } from "./registry";
import { Standin } from "./standin";
import { containerdConfigHead } from "./world";
import { toolPath } from "../tools";

export const LOCAL_ADDR = { hub: "198.18.0.1", dfly: "198.18.0.2", reg: "198.18.0.3" } as const;
export const PROXY_PORT = 4001;
export const METRICS_PORT = 4002;
export const REGISTRY_PORT = 5000;
/** The image the pull check pulls (pushed to the world's registry at start). */
export const CHECK_IMAGE = { repository: "local/hello", tag: "1" } as const;
/** The node pool name the world's stack uses (CCE's `cce.cloud.com/cce-nodepool` label value). */
export const LOCAL_POOL = "local-pool";

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
    proxyAddress: string;
    metricsUrl: string;
    registry: string;
    checkImage: string;
}

export interface LocalWorldOptions {
    /** The world's directory (state, logs, keys; not under /tmp: nodes get their own /tmp). */
    dir: string;
    /** How many SSH nodes (1 to 20). */
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
    private destroyed = false;

    constructor(readonly opts: LocalWorldOptions) {
        if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 20) {
            throw new Error(`the local world has 1 to 20 nodes, not ${opts.nodes}`);
        }
        removeStaleNamespaces();
        mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    }

    get infoFile(): string {
        return join(this.opts.dir, "world.json");
    }

    async start(): Promise<WorldInfo> {
        const dir = this.opts.dir;
        const spec: Record<string, number[]> = { dfly: [2], reg: [3] };
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
        await Promise.all([
            this.registry.start(hub),
            this.standin.start(),
            this.controlPlane.start(),
            ...this.nodes.map((n) => n.start()),
        ]);
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
            proxyAddress: `${LOCAL_ADDR.dfly}:${PROXY_PORT}`,
            metricsUrl: this.standin.metricsUrl,
            registry: `${LOCAL_ADDR.reg}:${REGISTRY_PORT}`,
            checkImage: `${LOCAL_ADDR.reg}:${REGISTRY_PORT}/${CHECK_IMAGE.repository}:${CHECK_IMAGE.tag}`,
        };
        writeFileSync(this.infoFile, `${JSON.stringify(info, null, 2)}\n`);
        return info;
    }

    /** Processes of the world that ended on their own (empty while it is healthy). */
    exited(): string[] {
        return this.controlPlane?.exited() ?? [];
    }

    /**
     * Ends every process of the world (those it started by pid, then anything left inside its
     * namespaces) and deletes the namespaces. The directory stays (logs); returns the namespaces
     * that could not be removed.
     */
    destroy(): string[] {
        if (this.destroyed) {
            return [];
        }
        this.destroyed = true;
        this.controlPlane?.stop();
        for (const p of [...this.nodes, this.standin, this.registry]) {
            p?.stop();
        }
        return destroyNamespaces(this.namespaces);
    }
}
