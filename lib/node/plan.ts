/**
 * The per-node plan: for each configured node, what its scripts configure, whether they run
 * through sudo, and which Dragonfly endpoint they point at. NodeFleet applies it and
 * `npm run render` writes it out, so both always agree.
 */
import { httpUrl } from "../remote/hosts";
import { buildNoProxy, NodeConfig, NodeEntry } from "./config";
import { ProxyCaConfig, trustedCaBundle } from "../config/proxyCa";
import { NodeScriptSpec } from "./scripts";

/** The Dragonfly client on the node itself (hostNetwork, at the proxy port): `mirrorEndpoint: local`. */
export function localEndpoint(proxyPort: number): string {
    return httpUrl("127.0.0.1", proxyPort);
}

/** One node's part of the plan. `E` is the type of the endpoint (a string, or a Pulumi input). */
export interface NodePlan<E = string> {
    node: NodeEntry;
    /** What the scripts configure, except the endpoint. */
    spec: Omit<NodeScriptSpec, "endpoint">;
    /** Run the scripts through `sudo -n` (the SSH user is not root). */
    sudo: boolean;
    /** The apply script's Dragonfly endpoint: the proxy LoadBalancer's URL or the node's own client. */
    endpoint: E | string;
}

export interface PlanInputs<E> {
    /** `http://HOST:PORT` of the proxy LoadBalancer (known at deployment: a Pulumi output). */
    proxyUrl: E;
    /** `proxy.port`: the local client's port for `mirrorEndpoint: local`. */
    proxyPort: number;
    /** The proxy requires basic auth (`proxy.basicAuth`): proxy-mode scripts read credentials on stdin. */
    proxyAuth: boolean;
    /**
     * `proxy.ca`: containerd nodes in proxy mode trust its certificates (the signer, then
     * `alsoTrust`) instead of skipping verification. Default: none.
     */
    proxyCa?: Pick<ProxyCaConfig, "certificate" | "alsoTrust">;
}

/** The plan of every configured node, in config order. */
export function planNodes<E>(cfg: NodeConfig<unknown>, inputs: PlanInputs<E>): NodePlan<E>[] {
    const noProxy = buildNoProxy(cfg.noProxy, cfg.clusterCidrs);
    const endpoint =
        cfg.runtimeMode === "mirror" && cfg.mirrorEndpoint === "local"
            ? localEndpoint(inputs.proxyPort)
            : inputs.proxyUrl;
    const trusted = inputs.proxyCa === undefined ? undefined : trustedCaBundle(inputs.proxyCa);
    return cfg.nodes.map((node) => {
        const mode = node.runtime === "docker" ? "proxy" : cfg.runtimeMode;
        return {
            node,
            spec: {
                runtime: node.runtime,
                mode,
                registries: cfg.registries,
                allRegistries: cfg.allRegistries,
                noProxy,
                proxyAuth: inputs.proxyAuth && mode === "proxy",
                ...(trusted !== undefined && mode === "proxy" && node.runtime === "containerd"
                    ? { proxyCa: trusted }
                    : {}),
            },
            sudo: node.user !== "root",
            endpoint,
        };
    });
}

/** Docker Hub, as image references and `registries` spell it. */
const DOCKER_HUB = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/**
 * Names of the Docker nodes (not gone) whose routed registries include Docker Hub. dockerd checks
 * Docker Hub against the system's CAs only: its official-index endpoint has a fixed TLS
 * configuration, so neither `insecure-registries` nor `certs.d` applies to it. Pulls of docker.io
 * images through the intercepting proxy fail there unless the node trusts the client's CA
 * system-wide.
 */
export function dockerNodesRoutingDockerHub(plan: NodePlan<unknown>[]): string[] {
    return plan
        .filter(
            (p) =>
                !p.node.gone &&
                p.spec.runtime === "docker" &&
                p.spec.registries.some((r) => DOCKER_HUB.includes(r.toLowerCase())),
        )
        .map((p) => p.node.name);
}
