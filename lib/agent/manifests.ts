/**
 * The Kubernetes objects of the node agent (docs/agent.md), as plain manifests: its
 * ServiceAccount, Role and RoleBinding (least privilege), the Secret that carries the entrypoint
 * and the node's scripts (the very scripts the SSH path runs: `planNodes`, `applyScript`,
 * `restoreScript` of lib/node), its content hash, the status ConfigMap, the DaemonSet, and what
 * the namespace needs for privileged pods. Pure: no engine; components/nodeAgent.ts creates them.
 */
import { createHash } from "crypto";

import { CoreConfig, stackLabels, Toleration } from "../cluster";
import {
    applyScript,
    DEFAULT_NODE_RUNTIME,
    NodeConfig,
    NodeEntry,
    NodePlan,
    planNodes,
    restoreScript,
    SUMMARY_PREFIX,
} from "../node";
import { agentImage, agentNodeSelector, NodeAgentConfig } from "./config";
import { AGENT_ENV, AGENT_FILES, AGENT_MOUNT, AGENT_READY_FILE, agentEntrypoint } from "./entrypoint";

/** The DaemonSet, ServiceAccount, Role and RoleBinding. */
export const AGENT_NAME = "dragonfly-node-agent";
/** The ConfigMap each agent patches with its node's summary line. */
export const AGENT_STATUS_CONFIGMAP = `${AGENT_NAME}-status`;
/** The agent's one container. */
export const AGENT_CONTAINER = "agent";
/** The pod template annotation that holds the Secret's content hash. */
export const CONFIG_HASH_ANNOTATION = "dragonfly-cce/config-hash";
/** The namespace annotation that says why it allows privileged pods. */
export const POD_SECURITY_REASON_ANNOTATION = "dragonfly-cce/pod-security-reason";
/** The Pod Security label that lets the agent's privileged, hostPID pods in. */
export const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
/** Seconds a pod has on SIGTERM to restore its node when the DaemonSet is deleted. */
export const AGENT_TERMINATION_GRACE_SECONDS = 300;
/** Readiness probe period: a node's pod turns Ready within 5 s of its node being configured. */
export const AGENT_READINESS_PERIOD_SECONDS = 5;
/** The agent's requests: it sleeps between applies. */
export const AGENT_RESOURCES = { requests: { cpu: "10m", memory: "32Mi" } } as const;
/** The agent's priority: it keeps the node's image pulls working, as kube-proxy keeps its network. */
export const AGENT_PRIORITY_CLASS = "system-node-critical";
/** Hex digits of the content hash in the Secret's name. */
export const CONFIG_HASH_LENGTH = 10;
/** The Secret volume's mode: the scripts and credentials are read by root only. */
export const AGENT_SECRET_MODE = 0o400;

/** The labels that select the agent's pods (never change: a DaemonSet's selector is immutable). */
export const AGENT_SELECTOR: Readonly<Record<string, string>> = Object.freeze({
    "app.kubernetes.io/part-of": "dragonfly",
    "app.kubernetes.io/component": "node-agent",
});

/** Labels of every agent object. */
export function agentLabels(releaseName: string): Record<string, string> {
    return { ...stackLabels(releaseName), ...AGENT_SELECTOR };
}

/** What the agent needs of the stack's config. */
export interface AgentStack {
    core: Pick<
        CoreConfig,
        "namespace" | "releaseName" | "nodePool" | "nodePoolLabelKey" | "imageRegistry" | "imagePullSecrets" | "proxy"
    >;
    nodes: NodeConfig<unknown>;
    nodeAgent: NodeAgentConfig;
}

/** The node the agent configures, as the SSH path's plan would hold it (root, containerd). */
const AGENT_NODE: NodeEntry = {
    name: "agent",
    host: "localhost",
    port: 22,
    user: "root",
    runtime: DEFAULT_NODE_RUNTIME,
    gone: false,
};

/**
 * The plan of a containerd node in the configured mode, from the SSH path's `planNodes`: the
 * agent runs exactly what NodeFleet would run on such a node. `proxyUrl` is the proxy
 * LoadBalancer's URL (mirror mode with `mirrorEndpoint: local` uses the node's own client).
 */
export function agentPlan<E>(stack: AgentStack, proxyUrl: E): NodePlan<E> {
    return planNodes(
        { ...stack.nodes, nodes: [AGENT_NODE] },
        {
            proxyUrl,
            proxyPort: stack.core.proxy.port,
            proxyAuth: stack.core.proxy.basicAuth,
            proxyCa: stack.core.proxy.ca,
        },
    )[0];
}

/** The files of the agent's Secret that are not secrets: the entrypoint and the node's scripts. */
export interface AgentScripts {
    /** lib/agent/agent.sh. */
    entrypoint: string;
    /** The node's apply script. */
    apply: string;
    /** The node's restore script. */
    restore: string;
    /** The apply script reads `user:password` on stdin (proxy mode with `proxy.basicAuth`). */
    proxyAuth: boolean;
}

/** The agent's scripts for the proxy URL `endpoint` (`http://HOST:PORT`). */
export function agentScripts(stack: AgentStack, endpoint: string): AgentScripts {
    const plan = agentPlan(stack, endpoint);
    const spec = { ...plan.spec, endpoint: plan.endpoint };
    return {
        entrypoint: agentEntrypoint(),
        apply: applyScript(spec),
        restore: restoreScript(spec),
        proxyAuth: plan.spec.proxyAuth === true,
    };
}

/**
 * The Secret's content hash: it changes exactly when a file the pods run changes (the
 * entrypoint, a script, whether credentials are passed). The credentials' value is not in it
 * (the hash names the Secret and annotates the pods, in plain); they are generated once.
 */
export function agentConfigHash(scripts: AgentScripts): string {
    const h = createHash("sha256");
    for (const [name, text] of [
        [AGENT_FILES.entrypoint, scripts.entrypoint],
        [AGENT_FILES.apply, scripts.apply],
        [AGENT_FILES.restore, scripts.restore],
        [AGENT_FILES.proxyCredentials, scripts.proxyAuth ? "yes" : "no"],
    ]) {
        h.update(`${name}\0${Buffer.byteLength(text)}\0${text}\0`);
    }
    return h.digest("hex").slice(0, CONFIG_HASH_LENGTH);
}

/** The Secret's name for a content hash. */
export function agentSecretName(hash: string): string {
    return `${AGENT_NAME}-${hash}`;
}

/**
 * The Secret's files: the entrypoint, the scripts, and `proxy-credentials` (one line
 * `user:password`) when the apply script reads them. `S` is the type of the credentials (the
 * stack passes a Pulumi secret).
 */
export function agentSecretData<S>(scripts: AgentScripts, credentials?: S): Record<string, string | S> {
    const data: Record<string, string | S> = {
        [AGENT_FILES.entrypoint]: scripts.entrypoint,
        [AGENT_FILES.apply]: scripts.apply,
        [AGENT_FILES.restore]: scripts.restore,
    };
    if (scripts.proxyAuth) {
        if (credentials === undefined) {
            throw new Error("agentSecretData: the apply script reads proxy credentials, and none were given");
        }
        data[AGENT_FILES.proxyCredentials] = credentials;
    }
    return data;
}

interface Metadata {
    name: string;
    namespace: string;
    labels: Record<string, string>;
}

function metadata(stack: AgentStack, name: string): Metadata {
    return { name, namespace: stack.core.namespace, labels: agentLabels(stack.core.releaseName) };
}

/** The Secret (immutable; its name carries the content hash, so a new configuration is a new Secret). */
export function agentSecretManifest<S>(
    stack: AgentStack,
    hash: string,
    stringData: Record<string, string | S>,
): {
    apiVersion: "v1";
    kind: "Secret";
    metadata: Metadata;
    type: "Opaque";
    immutable: true;
    stringData: typeof stringData;
} {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: metadata(stack, agentSecretName(hash)),
        type: "Opaque",
        immutable: true,
        stringData,
    };
}

export function serviceAccountManifest(stack: AgentStack): {
    apiVersion: "v1";
    kind: "ServiceAccount";
    metadata: Metadata;
    automountServiceAccountToken: true;
} {
    return {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: metadata(stack, AGENT_NAME),
        automountServiceAccountToken: true,
    };
}

/** One rule of a Role. */
export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    resourceNames: string[];
    verbs: string[];
}

/**
 * What the agent may do, and nothing more: read its own DaemonSet (on SIGTERM: is it being
 * deleted?) and read and patch its status ConfigMap. No list or watch, no cluster scope.
 */
export const AGENT_RULES: readonly PolicyRule[] = Object.freeze([
    { apiGroups: ["apps"], resources: ["daemonsets"], resourceNames: [AGENT_NAME], verbs: ["get"] },
    { apiGroups: [""], resources: ["configmaps"], resourceNames: [AGENT_STATUS_CONFIGMAP], verbs: ["get", "patch"] },
]);

export function roleManifest(stack: AgentStack): {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "Role";
    metadata: Metadata;
    rules: PolicyRule[];
} {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: metadata(stack, AGENT_NAME),
        rules: AGENT_RULES.map((r) => ({
            apiGroups: [...r.apiGroups],
            resources: [...r.resources],
            resourceNames: [...r.resourceNames],
            verbs: [...r.verbs],
        })),
    };
}

export function roleBindingManifest(stack: AgentStack): {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "RoleBinding";
    metadata: Metadata;
    roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "Role"; name: string };
    subjects: { kind: "ServiceAccount"; name: string; namespace: string }[];
} {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: metadata(stack, AGENT_NAME),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: AGENT_NAME },
        subjects: [{ kind: "ServiceAccount", name: AGENT_NAME, namespace: stack.core.namespace }],
    };
}

/** The status ConfigMap, created empty: the agents write `data.<node>`, the stack ignores it. */
export function statusConfigMapManifest(stack: AgentStack): {
    apiVersion: "v1";
    kind: "ConfigMap";
    metadata: Metadata;
} {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: metadata(stack, AGENT_STATUS_CONFIGMAP) };
}

/** Whether a node's status line says it is configured (the apply's summary, not `failed: ...`). */
export function isConfiguredStatus(line: string): boolean {
    return line.startsWith(`${SUMMARY_PREFIX} changed=`);
}

/** The nodes whose status line says they are configured, sorted by name. */
export function configuredAgentNodes(data: Record<string, string> | undefined): string[] {
    return Object.entries(data ?? {})
        .filter(([, line]) => isConfiguredStatus(line))
        .map(([node]) => node)
        .sort();
}

/** The DaemonSet's environment entry. */
export type EnvVar = { name: string; value: string } | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

export interface DaemonSetManifest {
    apiVersion: "apps/v1";
    kind: "DaemonSet";
    metadata: Metadata;
    spec: {
        selector: { matchLabels: Record<string, string> };
        updateStrategy: { type: "RollingUpdate"; rollingUpdate: { maxUnavailable: number } };
        template: {
            metadata: { labels: Record<string, string>; annotations: Record<string, string> };
            spec: {
                serviceAccountName: string;
                automountServiceAccountToken: true;
                hostPID: true;
                priorityClassName: string;
                terminationGracePeriodSeconds: number;
                nodeSelector: Record<string, string>;
                tolerations: Toleration[];
                imagePullSecrets?: { name: string }[];
                containers: {
                    name: string;
                    image: string;
                    command: string[];
                    env: EnvVar[];
                    securityContext: { privileged: true };
                    readinessProbe: { exec: { command: string[] }; periodSeconds: number };
                    resources: { requests: { cpu: string; memory: string } };
                    volumeMounts: { name: string; mountPath: string; readOnly: true }[];
                }[];
                volumes: { name: string; secret: { secretName: string; defaultMode: number } }[];
            };
        };
    };
}

/** The DaemonSet for the Secret with content hash `hash`. */
export function daemonSetManifest(stack: AgentStack, hash: string): DaemonSetManifest {
    const agent = stack.nodeAgent;
    const core = stack.core;
    const localMirror = stack.nodes.runtimeMode === "mirror" && stack.nodes.mirrorEndpoint === "local";
    const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    const spec: DaemonSetManifest["spec"]["template"]["spec"] = {
        serviceAccountName: AGENT_NAME,
        automountServiceAccountToken: true,
        hostPID: true,
        priorityClassName: AGENT_PRIORITY_CLASS,
        terminationGracePeriodSeconds: AGENT_TERMINATION_GRACE_SECONDS,
        nodeSelector: agentNodeSelector(agent, { labelKey: core.nodePoolLabelKey, name: core.nodePool }, localMirror),
        tolerations: agent.tolerations.map((t) => ({ ...t })),
        containers: [
            {
                name: AGENT_CONTAINER,
                image: agentImage(agent.image, core.imageRegistry),
                command: ["sh", `${AGENT_MOUNT}/${AGENT_FILES.entrypoint}`],
                env: [
                    field(AGENT_ENV.nodeName, "spec.nodeName"),
                    field(AGENT_ENV.namespace, "metadata.namespace"),
                    { name: AGENT_ENV.daemonSet, value: AGENT_NAME },
                    { name: AGENT_ENV.statusConfigMap, value: AGENT_STATUS_CONFIGMAP },
                    { name: AGENT_ENV.resyncSeconds, value: String(agent.resyncSeconds) },
                ],
                securityContext: { privileged: true },
                readinessProbe: {
                    exec: { command: ["cat", AGENT_READY_FILE] },
                    periodSeconds: AGENT_READINESS_PERIOD_SECONDS,
                },
                resources: { requests: { ...AGENT_RESOURCES.requests } },
                volumeMounts: [{ name: "config", mountPath: AGENT_MOUNT, readOnly: true }],
            },
        ],
        volumes: [{ name: "config", secret: { secretName: agentSecretName(hash), defaultMode: AGENT_SECRET_MODE } }],
    };
    if (core.imagePullSecrets.length > 0) {
        spec.imagePullSecrets = core.imagePullSecrets.map((name) => ({ name }));
    }
    return {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: metadata(stack, AGENT_NAME),
        spec: {
            selector: { matchLabels: { ...AGENT_SELECTOR } },
            updateStrategy: {
                type: "RollingUpdate",
                rollingUpdate: { maxUnavailable: stack.nodes.rollout.maxParallel },
            },
            template: {
                metadata: {
                    labels: agentLabels(core.releaseName),
                    annotations: { [CONFIG_HASH_ANNOTATION]: hash },
                },
                spec,
            },
        },
    };
}

/**
 * What the namespace gets while the agent runs: Pod Security `enforce: privileged` (the agent's
 * pods are privileged and share the node's PID namespace) and an annotation that says why.
 */
export function agentNamespaceMetadata(): { labels: Record<string, string>; annotations: Record<string, string> } {
    return {
        labels: { [POD_SECURITY_ENFORCE_LABEL]: "privileged" },
        annotations: {
            [POD_SECURITY_REASON_ANNOTATION]:
                `the DaemonSet ${AGENT_NAME} (dragonfly-cce:nodeAgent) runs privileged with hostPID: it enters ` +
                "its node's namespaces to edit containerd's configuration and restart containerd, so that the node " +
                "pulls images through Dragonfly",
        },
    };
}
