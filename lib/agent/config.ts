/**
 * Config `nodeAgent` (namespace `dragonfly-cce:`): the in-cluster node agent (docs/agent.md), off
 * by default. {@link parseNodeAgentConfig} checks the key on its own; the rules that span other
 * keys (`nodes`, `runtimeMode`, `mirrorEndpoint`, `verify`) are in ../config/index.ts, and
 * {@link agentNodeSelector} fills in the default selector once the node settings are known.
 */
import { isLabelKey, isLabelValue, isPlainObject, fail, optBool, optObject, optString } from "../config/validate";
import { parseToleration, Toleration } from "../cluster";

/** The keys of `nodeAgent`. */
export const NODE_AGENT_KEYS = ["enabled", "nodeSelector", "tolerations", "image", "resyncInterval"] as const;
/** The keys of `nodeAgent.image`. */
export const NODE_AGENT_IMAGE_KEYS = ["repository", "tag", "digest"] as const;

/** The agent's image, under `imageRegistry` (Docker Hub without it): busybox has `sh`, `nsenter`, `sleep`, `cat`. */
export const DEFAULT_AGENT_IMAGE_REPOSITORY = "library/busybox";
/** The image's tag (informative only once a digest is pinned). */
export const DEFAULT_AGENT_IMAGE_TAG = "1.37.0";
/** The registry of the image when `imageRegistry` is not set (as the chart's images). */
export const DEFAULT_AGENT_IMAGE_REGISTRY = "docker.io";
/** Tolerate every taint, as node-level DaemonSets (kube-proxy, CNI agents) do. */
export const DEFAULT_AGENT_TOLERATIONS: readonly Toleration[] = Object.freeze([{ operator: "Exists" as const }]);
/** Seconds between two applies on a node (`resyncInterval` `10m`). */
export const DEFAULT_RESYNC_SECONDS = 600;
/** Bounds of `resyncInterval`: 30 s (an apply takes seconds) to 24 h. */
export const MIN_RESYNC_SECONDS = 30;
export const MAX_RESYNC_SECONDS = 24 * 3600;
/** The selector of every Linux node: the default outside mirror mode with `mirrorEndpoint: local`. */
export const LINUX_NODE_SELECTOR: Readonly<Record<string, string>> = Object.freeze({ "kubernetes.io/os": "linux" });

/** `nodeAgent.image`: `repository` and `tag` (and `digest`) under `imageRegistry`. */
export interface AgentImage {
    /** Path of the image, without the registry (`imageRegistry` gives it). Default {@link DEFAULT_AGENT_IMAGE_REPOSITORY}. */
    repository: string;
    /** Tag. Default {@link DEFAULT_AGENT_IMAGE_TAG}. */
    tag: string;
    /** `sha256:<64 hex>`: the image is pulled by digest. No default. */
    digest?: string;
}

/** `nodeAgent`, defaults filled in (except the node selector: see {@link agentNodeSelector}). */
export interface NodeAgentConfig {
    /** Run the agent DaemonSet. Default false. */
    enabled: boolean;
    /** The nodes the agent runs on; undefined: the default of {@link agentNodeSelector}. */
    nodeSelector?: Record<string, string>;
    /** Tolerations of the agent's pods. Default {@link DEFAULT_AGENT_TOLERATIONS} (every taint). */
    tolerations: Toleration[];
    /** The agent's image. */
    image: AgentImage;
    /** Seconds between two applies (`resyncInterval`). Default {@link DEFAULT_RESYNC_SECONDS} (`10m`). */
    resyncSeconds: number;
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const DURATION_ALLOWED = `a duration from 30s to 24h, such as 30s, 10m, 1h30m or 24h (hours h, minutes m, seconds s)`;

/** Seconds of a duration such as `10m` or `1h30m`; undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
    const m = DURATION.exec(text);
    if (m === null || text === "") {
        return undefined;
    }
    const [h, min, s] = [m[1], m[2], m[3]].map((x) => Number(x ?? 0));
    return h * 3600 + min * 60 + s;
}

/** Path components of image names (distribution/reference). */
const IMAGE_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const IMAGE_TAG = /^[\w][\w.-]{0,127}$/;
const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

function parseImage(value: unknown): AgentImage {
    const key = "nodeAgent.image";
    const o = optObject(key, value, NODE_AGENT_IMAGE_KEYS);
    const repository =
        optString(`${key}.repository`, o.repository, "an image path such as library/busybox") ??
        DEFAULT_AGENT_IMAGE_REPOSITORY;
    const parts = repository.split("/");
    if (!parts.every((p) => IMAGE_PATH_COMPONENT.test(p)) || repository.length > 255) {
        fail(
            `${key}.repository`,
            repository,
            "an image path such as library/busybox: lower-case letters, digits and . _ - inside components separated by /, no tag, no digest",
        );
    }
    if (parts.length > 1 && (parts[0].includes(".") || parts[0] === "localhost")) {
        fail(
            `${key}.repository`,
            repository,
            `an image path without a registry host (library/busybox): the registry is dragonfly-cce:imageRegistry (default ${DEFAULT_AGENT_IMAGE_REGISTRY}), as for every image of the stack`,
        );
    }
    const tag = optString(`${key}.tag`, o.tag, "an image tag such as 1.37.0") ?? DEFAULT_AGENT_IMAGE_TAG;
    if (!IMAGE_TAG.test(tag)) {
        fail(
            `${key}.tag`,
            tag,
            "an image tag: letters, digits, _ . -, not starting with . or -, at most 128 characters",
        );
    }
    const digest = optString(`${key}.digest`, o.digest, "sha256:<64 lower-case hex digits>");
    if (digest !== undefined && !IMAGE_DIGEST.test(digest)) {
        fail(`${key}.digest`, digest, "sha256:<64 lower-case hex digits>, the image's manifest digest");
    }
    return digest === undefined ? { repository, tag } : { repository, tag, digest };
}

function parseNodeSelector(value: unknown): Record<string, string> | undefined {
    const key = "nodeAgent.nodeSelector";
    if (value === undefined || value === null) {
        return undefined;
    }
    if (!isPlainObject(value)) {
        fail(key, value, 'an object of node labels, e.g. {"kubernetes.io/os": "linux"}');
    }
    const entries = Object.entries(value);
    if (entries.length === 0) {
        fail(
            key,
            value,
            'at least one node label (the agent runs busybox and the node\'s bash: {"kubernetes.io/os": "linux"} selects every Linux node); leave it out for the default',
        );
    }
    const selector: Record<string, string> = {};
    for (const [k, v] of entries) {
        if (!isLabelKey(k)) {
            fail(key, k, "node label names that are valid Kubernetes label keys, e.g. cce.cloud.com/cce-nodepool");
        }
        if (typeof v !== "string" || !isLabelValue(v)) {
            fail(
                `${key}.${k}`,
                v,
                "a Kubernetes label value: at most 63 characters, letters, digits, '-', '_', '.', alphanumeric at both ends",
            );
        }
        selector[k] = v;
    }
    return selector;
}

/** Parses `nodeAgent`; see the module comment. */
export function parseNodeAgentConfig(raw: unknown): NodeAgentConfig {
    const o = optObject("nodeAgent", raw, NODE_AGENT_KEYS);
    const enabled = optBool("nodeAgent.enabled", o.enabled) ?? false;
    const nodeSelector = parseNodeSelector(o.nodeSelector);
    let tolerations: Toleration[];
    if (o.tolerations === undefined || o.tolerations === null) {
        tolerations = DEFAULT_AGENT_TOLERATIONS.map((t) => ({ ...t }));
    } else if (!Array.isArray(o.tolerations)) {
        fail("nodeAgent.tolerations", o.tolerations, 'a list of Kubernetes tolerations, e.g. [{"operator": "Exists"}]');
    } else {
        tolerations = o.tolerations.map((t, i) => parseToleration(`nodeAgent.tolerations[${i}]`, t));
    }
    let resyncSeconds = DEFAULT_RESYNC_SECONDS;
    if (o.resyncInterval !== undefined && o.resyncInterval !== null) {
        const seconds = typeof o.resyncInterval === "string" ? durationSeconds(o.resyncInterval) : undefined;
        if (seconds === undefined || seconds < MIN_RESYNC_SECONDS || seconds > MAX_RESYNC_SECONDS) {
            fail("nodeAgent.resyncInterval", o.resyncInterval, DURATION_ALLOWED);
        }
        resyncSeconds = seconds;
    }
    const cfg: NodeAgentConfig = { enabled, tolerations, image: parseImage(o.image), resyncSeconds };
    if (nodeSelector !== undefined) {
        cfg.nodeSelector = nodeSelector;
    }
    return cfg;
}

/**
 * The selector the agent's DaemonSet gets: the configured one, else the pool's label in mirror
 * mode with `mirrorEndpoint: local` (containerd there pulls from the node's own client, which
 * runs only on the pool) and every Linux node otherwise.
 */
export function agentNodeSelector(
    agent: Pick<NodeAgentConfig, "nodeSelector">,
    pool: { labelKey: string; name: string },
    localMirror: boolean,
): Record<string, string> {
    if (agent.nodeSelector !== undefined) {
        return { ...agent.nodeSelector };
    }
    return localMirror ? { [pool.labelKey]: pool.name } : { ...LINUX_NODE_SELECTOR };
}

/** Whether `selector` selects only nodes of the pool (it requires the pool's label value). */
export function pinsPool(selector: Record<string, string>, pool: { labelKey: string; name: string }): boolean {
    return selector[pool.labelKey] === pool.name;
}

/** The agent's image reference: `<imageRegistry>/<repository>:<tag>[@<digest>]`. */
export function agentImage(image: AgentImage, imageRegistry: string | undefined): string {
    const ref = `${imageRegistry ?? DEFAULT_AGENT_IMAGE_REGISTRY}/${image.repository}:${image.tag}`;
    return image.digest === undefined ? ref : `${ref}@${image.digest}`;
}
