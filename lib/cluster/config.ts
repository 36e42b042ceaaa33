/**
 * The core stack's configuration (namespace `dragonfly-cce:`): parsing, validation, defaults.
 *
 * `parseCoreConfig` takes the values of the config keys as `readKeys` (./pulumi.ts) returns
 * them (structured values parsed from JSON, scalars as text) and either returns a fully
 * defaulted {@link CoreConfig} or throws a {@link ConfigError} naming the key, the value and
 * what is allowed. It is pure: no engine.
 */
import {
    expectObject,
    expectString,
    fail,
    failSecret,
    isCidr,
    isDnsLabel,
    hostAllowed,
    isHost,
    isHostName,
    isIPv4,
    isIPv6,
    isLabelKey,
    isLabelValue,
    isPlainObject,
    optArray,
    optBool,
    optEnum,
    optInt,
    optObject,
    optString,
    PlainObject,
} from "../config/validate";
import { DEFAULT_CHART_REPO, DEFAULT_CHART_VERSION, DEFAULT_PROXY_PORT } from "../dragonfly";
import { checkElbAutocreate } from "./elb";
import { ConsoleConfig, parseConsole } from "../console";
import { parseProxyCa, ProxyCaConfig } from "../config/proxyCa";

export { ConfigError } from "../config/validate";

/** Label CCE puts on every node of a node pool; its value is the pool's name. */
export const DEFAULT_NODE_POOL_LABEL_KEY = "cce.cloud.com/cce-nodepool";
/** Namespace of the release (the seed document's). */
export const DEFAULT_NAMESPACE = "dragonfly-system";
/** Helm release name. Set explicitly: every object name of the chart derives from it. */
export const DEFAULT_RELEASE_NAME = "dragonfly";
/** EVS disks; use `csi-disk-topology` on multi-AZ clusters. */
export const DEFAULT_STORAGE_CLASS = "csi-disk";
/** Shared ELB unless told otherwise. */
export const DEFAULT_ELB_CLASS = "union";
/** A private (inner) ELB: the proxy has no authentication and must not face the internet. */
export const DEFAULT_ELB_AUTOCREATE: Readonly<PlainObject> = Object.freeze({ type: "inner" });
/** Keeps client source IPs and sends traffic only to nodes that run a client pod. */
export const DEFAULT_EXTERNAL_TRAFFIC_POLICY = "Local";
/** How long `pulumi up` waits for the release's workloads to become ready. */
export const DEFAULT_RELEASE_TIMEOUT_SECONDS = 900;

export const ELB_CLASSES = ["union", "performance"] as const;
export const TRAFFIC_POLICIES = ["Local", "Cluster"] as const;
export const TOLERATION_OPERATORS = ["Exists", "Equal"] as const;
export const TOLERATION_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** A Kubernetes toleration, as in a pod spec (Kubernetes' own defaults apply to unset fields). */
export interface Toleration {
    /** Taint key. No default; without it `operator` must be `Exists` (tolerate every taint). */
    key?: string;
    /** `Exists` or `Equal`. No default here (Kubernetes: `Equal`). */
    operator?: (typeof TOLERATION_OPERATORS)[number];
    /** Taint value (not with `Exists`). No default. */
    value?: string;
    /** Taint effect. No default: every effect. */
    effect?: (typeof TOLERATION_EFFECTS)[number];
    /** `NoExecute` only: seconds the pod stays after the taint appears. No default: forever. */
    tolerationSeconds?: number;
}

/** `chart`: the pinned chart. */
export interface ChartConfig {
    /**
     * Chart version (semver). Ignored for the source when `path` is set, but still reported.
     * Default {@link DEFAULT_CHART_VERSION} (`1.7.4`).
     */
    version: string;
    /** Helm repository URL. Default {@link DEFAULT_CHART_REPO}. */
    repo: string;
    /**
     * A local chart directory or `.tgz` (the [seed document](../../README.md#the-seed-document)'s
     * downloaded chart); wins over repo. No default.
     */
    path?: string;
}

/** `proxy.loadBalancer`: the ELB in front of the client proxy. */
export interface LoadBalancerConfig {
    /** An existing ELB (`kubernetes.io/elb.id`); excludes `autocreate`. No default. */
    elbId?: string;
    /** `kubernetes.io/elb.class`: `union` (shared) or `performance` (dedicated). Default `union`. */
    elbClass: (typeof ELB_CLASSES)[number];
    /**
     * `kubernetes.io/elb.autocreate` as an object; undefined when `elbId` is used. Default
     * {@link DEFAULT_ELB_AUTOCREATE} (`{"type": "inner"}`, a private ELB).
     */
    autocreate?: PlainObject;
    /** Extra Service annotations, merged last. Default: none. */
    annotations: Record<string, string>;
    /** `spec.loadBalancerSourceRanges`: CIDRs allowed to reach the proxy. Default: none (no restriction). */
    sourceRanges: string[];
    /** `Local` (keeps client addresses) or `Cluster`. Default `Local`. */
    externalTrafficPolicy: (typeof TRAFFIC_POLICIES)[number];
}

/** `proxy`: the Dragonfly client proxy and its LoadBalancer. */
export interface ProxyConfig {
    /** The client's HTTP proxy port and the LoadBalancer's port. Default {@link DEFAULT_PROXY_PORT} (4001). */
    port: number;
    /** A fixed address (IP or host) reported instead of the load balancer's ingress. No default. */
    address?: string;
    /** Protect the client proxy with HTTP basic auth (random password). Default false. */
    basicAuth: boolean;
    /** The ELB. Default: every field's default. */
    loadBalancer: LoadBalancerConfig;
    /**
     * The CA the client proxy signs intercepted HTTPS with; proxy-mode nodes trust it instead of
     * skipping TLS verification. Default: none (the client makes its own CA, nodes skip
     * verification for the routed registries).
     */
    ca?: ProxyCaConfig;
}

/** `console`: the manager console's NodePort and password. */
/** The cluster-side configuration, defaults filled in. */
export interface CoreConfig {
    /** The Dragonfly node pool's name (its label value). Required. */
    nodePool: string;
    /** The node label whose value is the pool name. Default {@link DEFAULT_NODE_POOL_LABEL_KEY}. */
    nodePoolLabelKey: string;
    /** Tolerations of every workload, for a tainted pool. Default: none. */
    nodePoolTolerations: Toleration[];
    /** Namespace the stack creates for the release. Default {@link DEFAULT_NAMESPACE} (`dragonfly-system`). */
    namespace: string;
    /** Helm release name. Default {@link DEFAULT_RELEASE_NAME} (`dragonfly`). */
    releaseName: string;
    /** The pinned chart. Default: every field's default. */
    chart: ChartConfig;
    /** StorageClass of the seed client, MySQL and Redis volumes. Default {@link DEFAULT_STORAGE_CLASS} (`csi-disk`). */
    storageClass: string;
    /** Registry (and path) mirroring every image. Default: none (Docker Hub). */
    imageRegistry?: string;
    /** Secrets in the namespace used to pull the images. Default: none. */
    imagePullSecrets: string[];
    /** Chart values deep-merged over the generated values, last. Default `{}`. */
    helmValues: PlainObject;
    /**
     * Whether `helmValues` is a secret config value (some path of it was set with `--secret`);
     * set by ./pulumi.ts, which alone sees that. Which leaves become secrets: `isSecretHelmValue`.
     */
    helmValuesSecret?: boolean;
    /** Delete the MySQL/Redis volumes when their StatefulSets are deleted (uninstall, rollback). Default true. */
    deleteVolumesOnUninstall: boolean;
    /** Seconds Helm waits for the workloads (`--wait --timeout`). Default {@link DEFAULT_RELEASE_TIMEOUT_SECONDS} (900). */
    releaseTimeoutSeconds: number;
    /**
     * Install and upgrade without waiting for the workloads (Helm's `--wait` off, and so
     * `atomic` off: nothing rolls back). For clusters that run no pods, such as the local world
     * of `./scripts/up.sh`. Default false.
     */
    releaseSkipAwait: boolean;
    /** The client proxy. */
    proxy: ProxyConfig;
    /** The console. */
    console: ConsoleConfig;
    /** Kubeconfig contents (secret). Default: the ambient kubeconfig. */
    kubeconfig?: string;
    /** Context of the kubeconfig. Default: its current context. */
    kubeContext?: string;
}

/** The keys `parseCoreConfig` reads (part of `STACK_CONFIG_KEYS`, which ./pulumi.ts reads). */
export const CORE_CONFIG_KEYS = [
    "nodePool",
    "nodePoolLabelKey",
    "nodePoolTolerations",
    "namespace",
    "releaseName",
    "chart",
    "storageClass",
    "imageRegistry",
    "imagePullSecrets",
    "helmValues",
    "deleteVolumesOnUninstall",
    "releaseTimeoutSeconds",
    "releaseSkipAwait",
    "proxy",
    "console",
    "kubeconfig",
    "kubeContext",
] as const;

const SEMVER =
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** One toleration, checked as Kubernetes validates it (`nodePoolTolerations[i]`, `nodeAgent.tolerations[i]`). */
export function parseToleration(key: string, v: unknown): Toleration {
    const o = expectObject(key, v, ["key", "operator", "value", "effect", "tolerationSeconds"]);
    const t: Toleration = {};
    const k = optString(`${key}.key`, o.key, "a taint key (a Kubernetes label key)");
    if (k !== undefined) {
        if (!isLabelKey(k)) {
            fail(`${key}.key`, k, "a taint key (a Kubernetes label key, e.g. dedicated or example.com/pool)");
        }
        t.key = k;
    }
    const operator = optEnum(`${key}.operator`, o.operator, TOLERATION_OPERATORS);
    if (operator) {
        t.operator = operator;
    }
    if (o.value !== undefined && o.value !== null) {
        if (typeof o.value !== "string" || !isLabelValue(o.value)) {
            fail(`${key}.value`, o.value, "a taint value (a Kubernetes label value)");
        }
        if (operator === "Exists") {
            fail(`${key}.value`, o.value, 'no value when operator is "Exists"');
        }
        t.value = o.value;
    }
    if (t.key === undefined && operator !== "Exists") {
        fail(`${key}.operator`, o.operator, '"Exists" when no key is given (tolerate every taint)');
    }
    const effect = optEnum(`${key}.effect`, o.effect, TOLERATION_EFFECTS);
    if (effect) {
        t.effect = effect;
    }
    const seconds = optInt(`${key}.tolerationSeconds`, o.tolerationSeconds, 0, 2 ** 31 - 1);
    if (seconds !== undefined) {
        if (effect !== "NoExecute") {
            fail(`${key}.tolerationSeconds`, seconds, 'only with effect "NoExecute"');
        }
        t.tolerationSeconds = seconds;
    }
    return t;
}

/** An IPv4 address, a `[IPv6]` address or a host name (the host part of a URL or an image name). */
function isUrlHost(h: string): boolean {
    return h.startsWith("[") ? h.endsWith("]") && isIPv6(h.slice(1, -1)) : isIPv4(h) || isHostName(h);
}

/** An `http(s)://` or `oci://` URL whose host is valid, with no whitespace anywhere. */
export function isChartRepo(s: string): boolean {
    const m = /^(https?|oci):\/\/(?:[^@/?#]*@)?(\[[^\]/]*\]|[^:/?#]*)(?::(\d{1,5}))?([/?#].*)?$/.exec(s);
    if (
        m === null ||
        /\s/.test(s) ||
        !isUrlHost(m[2]) ||
        (m[3] !== undefined && !(Number(m[3]) >= 1 && Number(m[3]) <= 65535))
    ) {
        return false;
    }
    try {
        new URL(s);
    } catch {
        return false;
    }
    return true;
}

/** Path components of image names (distribution/reference). */
const IMAGE_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `host[:port][/path...]`: an image registry with an optional path, no scheme. */
export function isImageRegistry(s: string): boolean {
    const m = /^(\[[^\]/]*\]|[^:/]*)(?::(\d{1,5}))?((?:\/[^/]*)*)$/.exec(s);
    if (m === null || !isUrlHost(m[1]) || (m[2] !== undefined && !(Number(m[2]) >= 1 && Number(m[2]) <= 65535))) {
        return false;
    }
    return (
        m[3] === "" ||
        m[3]
            .slice(1)
            .split("/")
            .every((c) => IMAGE_PATH_COMPONENT.test(c))
    );
}

function parseChart(value: unknown): ChartConfig {
    const o = optObject("chart", value, ["version", "repo", "path"]);
    const path = optString("chart.path", o.path, "a local chart directory or .tgz file");
    const version = optString("chart.version", o.version, "a chart version") ?? DEFAULT_CHART_VERSION;
    if (!SEMVER.test(version) && path === undefined) {
        fail("chart.version", version, "a semantic version such as 1.7.4 (or set chart.path to a local chart)");
    }
    const repo = optString("chart.repo", o.repo, "an http(s) or oci:// chart repository URL") ?? DEFAULT_CHART_REPO;
    if (!isChartRepo(repo)) {
        fail(
            "chart.repo",
            repo,
            "an http(s) or oci:// chart repository URL with a valid host and no spaces, e.g. https://dragonflyoss.github.io/helm-charts/",
        );
    }
    return path === undefined ? { version, repo } : { version, repo, path };
}

function parseLoadBalancer(value: unknown): LoadBalancerConfig {
    const key = "proxy.loadBalancer";
    const o = optObject(key, value, [
        "elbId",
        "elbClass",
        "autocreate",
        "annotations",
        "sourceRanges",
        "externalTrafficPolicy",
    ]);
    const elbId = optString(`${key}.elbId`, o.elbId, "the id of an existing ELB (a UUID)");
    if (
        elbId !== undefined &&
        !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(elbId)
    ) {
        fail(`${key}.elbId`, elbId, "the id of an existing ELB (a UUID such as 5083f225-9bf8-48fa-9c8b-67bd9693c4c0)");
    }
    if (elbId !== undefined && o.autocreate !== undefined && o.autocreate !== null) {
        fail(
            `${key}.autocreate`,
            o.autocreate,
            "not together with elbId (CCE would treat the named ELB as auto-created and may delete it with the Service); set one of them",
        );
    }
    let autocreate: PlainObject | undefined;
    if (elbId === undefined) {
        if (o.autocreate === undefined || o.autocreate === null) {
            autocreate = { ...DEFAULT_ELB_AUTOCREATE };
        } else {
            if (!isPlainObject(o.autocreate)) {
                fail(
                    `${key}.autocreate`,
                    o.autocreate,
                    'an object such as {"type": "inner"} (kubernetes.io/elb.autocreate)',
                );
            }
            autocreate = o.autocreate;
        }
    }
    const elbClass = optEnum(`${key}.elbClass`, o.elbClass, ELB_CLASSES) ?? DEFAULT_ELB_CLASS;
    if (autocreate !== undefined) {
        autocreate = checkElbAutocreate(autocreate, elbClass);
    }
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(optObjectAny(`${key}.annotations`, o.annotations))) {
        if (!isLabelKey(k)) {
            fail(`${key}.annotations`, k, "annotation names that are valid Kubernetes keys");
        }
        if (typeof v !== "string") {
            fail(`${key}.annotations.${k}`, v, "a string");
        }
        annotations[k] = v;
    }
    const sourceRanges = optArray(`${key}.sourceRanges`, o.sourceRanges, (k, v) => {
        if (typeof v !== "string" || !isCidr(v)) {
            fail(k, v, "a CIDR block such as 192.168.0.0/16 or 10.0.1.5/32");
        }
        return v;
    });
    const externalTrafficPolicy =
        optEnum(`${key}.externalTrafficPolicy`, o.externalTrafficPolicy, TRAFFIC_POLICIES) ??
        DEFAULT_EXTERNAL_TRAFFIC_POLICY;
    const lb: LoadBalancerConfig = { elbClass, annotations, sourceRanges, externalTrafficPolicy };
    if (elbId !== undefined) {
        lb.elbId = elbId;
    }
    if (autocreate !== undefined) {
        lb.autocreate = autocreate;
    }
    return lb;
}

/** An object whose keys are free-form (annotations, helmValues). */
function optObjectAny(key: string, value: unknown): PlainObject {
    if (value === undefined || value === null) {
        return {};
    }
    if (!isPlainObject(value)) {
        fail(key, value, "an object");
    }
    return value;
}

function parseProxy(value: unknown): ProxyConfig {
    const o = optObject("proxy", value, ["port", "address", "basicAuth", "loadBalancer", "ca"]);
    const port = optInt("proxy.port", o.port, 1, 65535) ?? DEFAULT_PROXY_PORT;
    const address = optString("proxy.address", o.address, "an IP address or host name");
    if (address !== undefined && !isHost(address)) {
        fail("proxy.address", address, hostAllowed("an IP address or host name, without scheme or port", address));
    }
    const basicAuth = optBool("proxy.basicAuth", o.basicAuth) ?? false;
    const proxy: ProxyConfig = { port, basicAuth, loadBalancer: parseLoadBalancer(o.loadBalancer) };
    if (address !== undefined) {
        proxy.address = address;
    }
    const ca = parseProxyCa(o.ca);
    if (ca !== undefined) {
        proxy.ca = ca;
    }
    return proxy;
}

/** Parses and validates the core keys; see the module comment. */
export function parseCoreConfig(raw: Partial<Record<(typeof CORE_CONFIG_KEYS)[number], unknown>>): CoreConfig {
    const nodePool = expectString(
        "nodePool",
        raw.nodePool,
        "the name of the Dragonfly node pool (a Kubernetes label value)",
    );
    if (!isLabelValue(nodePool)) {
        fail(
            "nodePool",
            nodePool,
            "a Kubernetes label value: at most 63 characters, letters, digits, '-', '_', '.', alphanumeric at both ends",
        );
    }
    const nodePoolLabelKey = optString("nodePoolLabelKey", raw.nodePoolLabelKey) ?? DEFAULT_NODE_POOL_LABEL_KEY;
    if (!isLabelKey(nodePoolLabelKey)) {
        fail("nodePoolLabelKey", nodePoolLabelKey, "a Kubernetes label key such as cce.cloud.com/cce-nodepool");
    }
    const nodePoolTolerations = optArray("nodePoolTolerations", raw.nodePoolTolerations, parseToleration);

    const namespace = optString("namespace", raw.namespace) ?? DEFAULT_NAMESPACE;
    if (!isDnsLabel(namespace)) {
        fail(
            "namespace",
            namespace,
            "a Kubernetes namespace name: lower-case letters, digits and '-', at most 63 characters",
        );
    }
    const releaseName = optString("releaseName", raw.releaseName) ?? DEFAULT_RELEASE_NAME;
    if (!isDnsLabel(releaseName) || releaseName.length > 53) {
        fail(
            "releaseName",
            releaseName,
            "a Helm release name: lower-case letters, digits and '-', at most 53 characters",
        );
    }
    const storageClass = optString("storageClass", raw.storageClass) ?? DEFAULT_STORAGE_CLASS;
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(storageClass)) {
        fail("storageClass", storageClass, "a StorageClass name such as csi-disk or csi-disk-topology");
    }
    const imageRegistry = optString("imageRegistry", raw.imageRegistry, "a registry host, optionally with a path");
    if (imageRegistry !== undefined && !isImageRegistry(imageRegistry)) {
        fail(
            "imageRegistry",
            imageRegistry,
            hostAllowed(
                "a registry host (DNS name or IP address) with optional port and lower-case path, no scheme (e.g. swr.cn-north-4.myhuaweicloud.com/dragonfly)",
                imageRegistry.split(/[:/]/)[0],
            ),
        );
    }
    const imagePullSecrets = optArray("imagePullSecrets", raw.imagePullSecrets, (k, v) => {
        if (typeof v !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) {
            fail(k, v, "the name of a Secret in the release namespace");
        }
        return v;
    });
    const helmValues = optObjectAny("helmValues", raw.helmValues);
    const deleteVolumesOnUninstall = optBool("deleteVolumesOnUninstall", raw.deleteVolumesOnUninstall) ?? true;
    const releaseTimeoutSeconds =
        optInt("releaseTimeoutSeconds", raw.releaseTimeoutSeconds, 60, 7200) ?? DEFAULT_RELEASE_TIMEOUT_SECONDS;
    const releaseSkipAwait = optBool("releaseSkipAwait", raw.releaseSkipAwait) ?? false;

    let kubeconfig: string | undefined;
    if (raw.kubeconfig !== undefined && raw.kubeconfig !== null) {
        if (typeof raw.kubeconfig === "string" && raw.kubeconfig.trim() !== "") {
            kubeconfig = raw.kubeconfig;
        } else if (isPlainObject(raw.kubeconfig)) {
            kubeconfig = JSON.stringify(raw.kubeconfig);
        } else {
            failSecret("kubeconfig", "kubeconfig contents (YAML or JSON), set with `pulumi config set --secret`");
        }
    }
    const kubeContext = optString("kubeContext", raw.kubeContext, "a context name of the kubeconfig");

    const cfg: CoreConfig = {
        nodePool,
        nodePoolLabelKey,
        nodePoolTolerations,
        namespace,
        releaseName,
        chart: parseChart(raw.chart),
        storageClass,
        imagePullSecrets,
        helmValues,
        deleteVolumesOnUninstall,
        releaseTimeoutSeconds,
        releaseSkipAwait,
        proxy: parseProxy(raw.proxy),
        console: parseConsole(raw.console),
    };
    if (imageRegistry !== undefined) {
        cfg.imageRegistry = imageRegistry;
    }
    if (kubeconfig !== undefined) {
        cfg.kubeconfig = kubeconfig;
    }
    if (kubeContext !== undefined) {
        cfg.kubeContext = kubeContext;
    }
    return cfg;
}
