/**
 * Config `verify: { image, node?, metricsUrls? }` (namespace `dragonfly-cce:`): after the nodes
 * are configured, pull `image` on one node and prove that it went through Dragonfly. Off when
 * `verify` or its `image` is not set.
 */
import { httpUrl } from "../remote/hosts";
import { expectObject, fail, optArray, optString } from "../config/validate";
import { CLIENT_METRICS_PORT, DEFAULT_METRICS_URL, METRICS_PATH } from "../dragonfly";

export const VERIFY_KEYS = ["image", "node", "metricsUrls"] as const;

/** `verify`: the pull check, on when `image` is set. */
export interface VerifyConfig {
    /** The image to pull. Required (no `image`: no check). */
    image: string;
    /** A name from `nodes`. Default: the first node. */
    node: string;
    /**
     * Metrics endpoints of the Dragonfly clients whose counters are summed. Empty (the default)
     * means {@link defaultMetricsUrls} of every configured node's host: port 4002 of each node in
     * `nodes`, plus the chosen node's own client at 127.0.0.1:4002. The proxy LoadBalancer may
     * hand the pull to the client on any Dragonfly node, and those clients run only on the
     * Dragonfly node pool's nodes: when the pool's nodes are listed in `nodes` they are found
     * automatically; otherwise list their URLs here (`http://NODE-IP:4002/metrics`). URLs that
     * cannot be read before the pull (nodes without a client) are skipped with a note.
     */
    metricsUrls: string[];
}

/**
 * The metrics URLs read when `verify.metricsUrls` is empty: `http://HOST:4002/metrics` for each
 * host (IPv6 addresses in brackets, host names lower-cased), then the verifying node's own client
 * ({@link DEFAULT_METRICS_URL}); duplicates removed, first occurrence kept, in the given order.
 */
export function defaultMetricsUrls(hosts: readonly string[]): string[] {
    const urls = hosts.map((h) => `${httpUrl(h.toLowerCase(), CLIENT_METRICS_PORT)}${METRICS_PATH}`);
    return [...new Set([...urls, DEFAULT_METRICS_URL])];
}

// distribution/reference grammar: [domain[:port]/]path-component(/path-component)*[:tag][@digest]
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
    `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

/**
 * True for an image reference the runtimes accept, e.g. `nginx:1.27`,
 * `swr.cn-north-4.myhuaweicloud.com/org/app:1.0`, `registry.local:5000/app@sha256:...`.
 * (A first component without `.` or `:` and other than `localhost` is part of the path, as in
 * Docker's own parsing.)
 */
export function isImageReference(s: string): boolean {
    if (s.length > 512) {
        return false;
    }
    const m = REFERENCE.exec(s);
    if (!m) {
        // "Host/Path" with an upper-case host that is not a domain: fails the lower-case path rule.
        return false;
    }
    return m[2].length <= 255;
}

/**
 * Parses `verify`. `nodeNames` are the names of the configured nodes, in order (those of `nodes`,
 * then those of `nodesFromStack`, which `listed` names); the chosen node must be one of them.
 * `nodeNames` undefined means the node list is not known yet (`nodesFromStack` not read): then
 * everything but the node choice is checked and the result is undefined. Returns undefined when
 * verification is off.
 */
export function parseVerifyConfig(
    raw: unknown,
    nodeNames: readonly string[] | undefined,
    listed = "nodes",
): VerifyConfig | undefined {
    if (raw === undefined || raw === null) {
        return undefined;
    }
    const v = expectObject("verify", raw, VERIFY_KEYS);
    const image = optString(
        "verify.image",
        v.image,
        "an image reference, e.g. swr.cn-north-4.myhuaweicloud.com/org/app:1.0",
    );
    if (image === undefined) {
        if (v.node !== undefined || v.metricsUrls !== undefined) {
            fail(
                "verify.image",
                v.image,
                "an image reference (required when verify.node or verify.metricsUrls is set; leave verify out to turn verification off)",
            );
        }
        return undefined;
    }
    if (!isImageReference(image)) {
        fail(
            "verify.image",
            image,
            "an image reference like registry.example.com:5000/org/app:1.0 (lower-case path, optional :tag and @sha256:digest, no scheme)",
        );
    }
    const node = optString("verify.node", v.node);
    const metricsUrls = optArray("verify.metricsUrls", v.metricsUrls, (k, u) => {
        const s = optString(k, u);
        if (s === undefined || !/^https?:\/\/[^\s/'"\\]+(\/[^\s'"\\]*)?$/.test(s)) {
            fail(k, u, "an http(s) URL of a Dragonfly client's metrics, e.g. http://192.168.0.12:4002/metrics");
        }
        return s;
    });
    if (nodeNames === undefined) {
        return undefined;
    }
    let chosen: string;
    if (node === undefined) {
        if (nodeNames.length === 0) {
            fail("verify", raw, `verification needs a node to pull on: list at least one node in ${listed}`);
        }
        chosen = nodeNames[0];
    } else {
        if (!nodeNames.includes(node)) {
            fail(
                "verify.node",
                node,
                nodeNames.length === 0
                    ? `a name from ${listed}, but ${listed === "nodes" ? "nodes is empty" : "they list no node"}`
                    : `a name from ${listed}: ${nodeNames.map((n) => JSON.stringify(n)).join(", ")}`,
            );
        }
        chosen = node;
    }
    return { image, node: chosen, metricsUrls };
}
