/**
 * The pull-path test world, assembled (all names include the process id):
 *
 *   hub   198.18.0.1   bridge; the "operator's machine": SSH client, image pushes
 *   dfly  198.18.0.2   Dragonfly client stand-in: proxy/mirror on :4001, metrics on :4002
 *   reg   198.18.0.3   docker-registry, HTTP on :5000 and HTTPS (own CA) on :5443,
 *         198.18.0.4   the same registries under a second address (a "different host")
 *   node  198.18.0.10  containerd + sshd in their own mount namespace
 *
 * `destroy()` kills every process inside the namespaces, deletes the namespaces (and with them
 * every veth and the bridge) and removes the run directory; it is also registered as a process
 * exit hook, and a later run removes namespaces of a run whose process died.
 */
import { mkdtempSync, rmSync } from "fs";
import { join } from "path";
import { makeCa, makeLeaf } from "./certs";
import { CriClient } from "./cri";
import { buildImage, pushImage, TestImage } from "./image";
import { createNetwork, destroyNamespaces, Network, removeStaleNamespaces } from "./netns";
import { NodeHost } from "./node";
import { Registry } from "./registry";
import { Standin } from "./standin";

export const ADDR = {
    hub: "198.18.0.1",
    dfly: "198.18.0.2",
    reg: "198.18.0.3",
    regAlias: "198.18.0.4",
    node: "198.18.0.10",
} as const;
export const HTTP_PORT = 5000;
export const HTTPS_PORT = 5443;
export const STANDIN_PORT = 4001;
export const STANDIN_METRICS_PORT = 4002;

export interface PushedImage {
    image: TestImage;
    /** Full reference, e.g. `198.18.0.3:5000/e2e/proxy-http:t1`. */
    ref: string;
    /** `host:port` of the registry as the node names it. */
    host: string;
}

/**
 * The head of a world node's config.toml as a CCE node ships it (version 2, the CRI plugin),
 * with containerd's root and opt directories under `dir` (never the machine's /var/lib).
 */
export function containerdConfigHead(dir: string): string {
    return [
        "version = 2",
        `root = "${join(dir, "containerd-root")}"`,
        "",
        "[plugins]",
        '  [plugins."io.containerd.grpc.v1.cri"]',
        '    sandbox_image = "registry.k8s.io/pause:3.9"',
        '    [plugins."io.containerd.grpc.v1.cri".cni]',
        '      bin_dir = "/usr/lib/cni"',
        '      conf_dir = "/etc/cni/net.d"',
        '  [plugins."io.containerd.internal.v1.opt"]',
        `    path = "${join(dir, "containerd-opt")}"`,
        "",
    ].join("\n");
}

export class World {
    readonly pid = process.pid;
    readonly dir: string;
    readonly namespaces: string[] = [];
    net!: Network;
    httpRegistry!: Registry;
    httpsRegistry!: Registry;
    standin!: Standin;
    node!: NodeHost;
    cri!: CriClient;
    registryCa = "";
    /** The CA the Dragonfly stand-in signs its intercepting certificate with (a file path). */
    proxyCa = "";
    private counter = 0;
    private destroyed = false;
    private readonly exitHook = (): void => {
        this.destroy();
    };

    constructor() {
        removeStaleNamespaces();
        this.dir = mkdtempSync(`/var/tmp/dfpull-${process.pid}-`);
        process.on("exit", this.exitHook);
    }

    /** containerd's root directory on this run (put it in every config.toml). */
    get containerdRoot(): string {
        return join(this.dir, "containerd-root");
    }

    /** The common head of the node's config.toml: version 2, run-private root. */
    configHead(): string {
        return containerdConfigHead(this.dir);
    }

    async start(configToml: string): Promise<void> {
        this.net = await createNetwork(this.pid, { dfly: [2], reg: [3, 4], node: [10] }, this.namespaces);
        const hub = this.net.hub.netns;
        const ca = await makeCa(this.dir, "registry");
        this.registryCa = ca.cert;
        const regLeaf = await makeLeaf(this.dir, "registry", ca, [ADDR.reg, ADDR.regAlias]);
        const dflyCa = await makeCa(this.dir, "dragonfly");
        this.proxyCa = dflyCa.cert;
        // The stand-in intercepts HTTPS with this certificate, as the Dragonfly client does with
        // one its CA signs: valid for the registry's addresses, trusted only through that CA.
        const dflyLeaf = await makeLeaf(this.dir, "dragonfly-standin", dflyCa, [ADDR.dfly, ADDR.reg, ADDR.regAlias]);

        this.httpRegistry = new Registry({
            name: "registry-http",
            netns: this.net.hosts.reg.netns,
            listen: `0.0.0.0:${HTTP_PORT}`,
            reachAt: `${ADDR.reg}:${HTTP_PORT}`,
            dir: this.dir,
        });
        this.httpsRegistry = new Registry({
            name: "registry-https",
            netns: this.net.hosts.reg.netns,
            listen: `0.0.0.0:${HTTPS_PORT}`,
            reachAt: `${ADDR.reg}:${HTTPS_PORT}`,
            dir: this.dir,
            tls: { cert: regLeaf.cert, key: regLeaf.key, ca: ca.cert },
        });
        this.standin = new Standin({
            netns: this.net.hosts.dfly.netns,
            host: ADDR.dfly,
            port: STANDIN_PORT,
            metricsPort: STANDIN_METRICS_PORT,
            cert: dflyLeaf.cert,
            key: dflyLeaf.key,
            upstreamCa: ca.cert,
            dir: this.dir,
        });
        this.node = new NodeHost({
            netns: this.net.hosts.node.netns,
            address: ADDR.node,
            clientNetns: hub,
            dir: this.dir,
            trustedCa: ca.cert,
            configToml,
        });
        await Promise.all([
            this.httpRegistry.start(hub),
            this.httpsRegistry.start(hub),
            this.standin.start(),
            this.node.start(),
        ]);
        this.cri = new CriClient(this.node.containerdSocket);
    }

    /**
     * Builds a new image (unique blobs) and pushes it to the HTTP or HTTPS registry; `host` is
     * the address the node will use in the reference (the registry's, or its alias).
     */
    async push(kind: "http" | "https", name: string, host: string = ADDR.reg): Promise<PushedImage> {
        const registry = kind === "http" ? this.httpRegistry : this.httpsRegistry;
        const tag = `t${++this.counter}`;
        const image = buildImage(`e2e/${name}`, tag, `${this.pid}-${this.counter}-${name}`);
        await pushImage(
            {
                baseUrl: registry.baseUrl,
                netns: this.net.hub.netns,
                caFile: kind === "https" ? this.registryCa : undefined,
                workDir: join(this.dir, "push"),
            },
            image,
        );
        const port = kind === "http" ? HTTP_PORT : HTTPS_PORT;
        return { image, ref: `${host}:${port}/${image.repository}:${tag}`, host: `${host}:${port}` };
    }

    registryFor(kind: "http" | "https"): Registry {
        return kind === "http" ? this.httpRegistry : this.httpsRegistry;
    }

    /** Idempotent teardown; returns namespaces that could not be removed (should be none). */
    destroy(): string[] {
        if (this.destroyed) {
            return [];
        }
        this.destroyed = true;
        process.removeListener("exit", this.exitHook);
        try {
            this.cri?.close();
        } catch {
            /* closing a closed client */
        }
        for (const p of [this.node, this.standin, this.httpRegistry, this.httpsRegistry]) {
            p?.stop();
        }
        const left = destroyNamespaces(this.namespaces);
        rmSync(this.dir, { recursive: true, force: true });
        return left;
    }
}
