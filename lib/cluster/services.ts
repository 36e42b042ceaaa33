/**
 * The namespace and the two Services the stack adds to the chart (pure; no engine): a
 * LoadBalancer in front of the client proxy on every Dragonfly node, and a NodePort for the
 * manager console. The chart has no Service for the client proxy; both select the chart's pod
 * labels.
 */
import { CoreConfig } from "./config";
import { CONSOLE_PORT } from "../dragonfly";
import { chartObjectNames, podSelector, PROXY_CA_FILES, proxyCaSecretName } from "./helmValues";
import { hostPort } from "../remote/hosts";

/** CCE's ELB annotations. */
export const ELB_ANNOTATION = {
    class: "kubernetes.io/elb.class",
    id: "kubernetes.io/elb.id",
    autocreate: "kubernetes.io/elb.autocreate",
} as const;

/** Labels on the objects this stack adds beside the chart's (which Helm labels itself). */
export function stackLabels(releaseName: string): Record<string, string> {
    return {
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "dragonfly",
        "app.kubernetes.io/instance": releaseName,
    };
}

/** Service names: derived from the chart's fullname so two releases never collide. */
export function serviceNames(releaseName: string): { proxy: string; console: string } {
    const names = chartObjectNames(releaseName);
    return { proxy: `${names.client}-proxy`, console: `${names.manager}-console` };
}

export interface ServiceManifest {
    apiVersion: "v1";
    kind: "Service";
    metadata: {
        name: string;
        namespace: string;
        labels: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec: {
        type: "LoadBalancer" | "NodePort";
        selector: Record<string, string>;
        ports: Array<{ name: string; protocol: "TCP"; port: number; targetPort: number; nodePort?: number }>;
        externalTrafficPolicy?: "Local" | "Cluster";
        loadBalancerSourceRanges?: string[];
    };
}

/** ELB annotations: class, then the existing ELB or the auto-create spec, then the user's. */
export function elbAnnotations(cfg: CoreConfig): Record<string, string> {
    const lb = cfg.proxy.loadBalancer;
    const annotations: Record<string, string> = { [ELB_ANNOTATION.class]: lb.elbClass };
    if (lb.elbId !== undefined) {
        annotations[ELB_ANNOTATION.id] = lb.elbId;
    } else if (lb.autocreate !== undefined) {
        annotations[ELB_ANNOTATION.autocreate] = JSON.stringify(lb.autocreate);
    }
    return { ...annotations, ...lb.annotations };
}

/** The LoadBalancer Service for the client's HTTP proxy (the [seed document](../../README.md#the-seed-document)'s step 3.c). */
export function proxyServiceManifest(cfg: CoreConfig): ServiceManifest {
    const lb = cfg.proxy.loadBalancer;
    const spec: ServiceManifest["spec"] = {
        type: "LoadBalancer",
        selector: podSelector(cfg.releaseName, "client"),
        ports: [{ name: "http-proxy", protocol: "TCP", port: cfg.proxy.port, targetPort: cfg.proxy.port }],
        externalTrafficPolicy: lb.externalTrafficPolicy,
    };
    if (lb.sourceRanges.length > 0) {
        spec.loadBalancerSourceRanges = [...lb.sourceRanges];
    }
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: serviceNames(cfg.releaseName).proxy,
            namespace: cfg.namespace,
            labels: stackLabels(cfg.releaseName),
            annotations: elbAnnotations(cfg),
        },
        spec,
    };
}

/** The NodePort Service for the manager console (the seed document's console step). */
export function consoleServiceManifest(cfg: CoreConfig): ServiceManifest {
    const port: ServiceManifest["spec"]["ports"][number] = {
        name: "http-console",
        protocol: "TCP",
        port: CONSOLE_PORT,
        targetPort: CONSOLE_PORT,
    };
    if (cfg.console.nodePort !== undefined) {
        port.nodePort = cfg.console.nodePort;
    }
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: serviceNames(cfg.releaseName).console,
            namespace: cfg.namespace,
            labels: stackLabels(cfg.releaseName),
        },
        spec: { type: "NodePort", selector: podSelector(cfg.releaseName, "manager"), ports: [port] },
    };
}

/** The namespace the stack owns (created by the stack, deleted with it). */
export function namespaceManifest(cfg: CoreConfig): {
    apiVersion: "v1";
    kind: "Namespace";
    metadata: { name: string; labels: Record<string, string> };
} {
    return {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
            name: cfg.namespace,
            labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "dragonfly" },
        },
    };
}

/**
 * The Secret the client pods mount for `proxy.ca` (see PROXY_CA_MOUNT_PATH): the CA certificate
 * and its key (`S`: the stack passes the key as a Pulumi secret).
 */
export function proxyCaSecretManifest<S>(
    cfg: CoreConfig,
    ca: { certificate: string; key: S },
): {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "Opaque";
    stringData: Record<string, string | S>;
} {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            name: proxyCaSecretName(cfg.releaseName),
            namespace: cfg.namespace,
            labels: stackLabels(cfg.releaseName),
        },
        type: "Opaque",
        stringData: { [PROXY_CA_FILES.certificate]: ca.certificate, [PROXY_CA_FILES.key]: ca.key },
    };
}

/** Ingress of a LoadBalancer Service status, as Kubernetes reports it. */
export interface LoadBalancerIngress {
    ip?: string;
    hostname?: string;
}

/** The proxy address `HOST:PORT`: the fixed address when configured, else the ELB's ingress. */
export function proxyAddressFrom(
    fixedAddress: string | undefined,
    ingress: LoadBalancerIngress[] | undefined,
    port: number,
): string | undefined {
    const host =
        fixedAddress ?? ingress?.find((i) => i.ip || i.hostname)?.ip ?? ingress?.find((i) => i.hostname)?.hostname;
    if (host === undefined) {
        return undefined;
    }
    return hostPort(host, port);
}
