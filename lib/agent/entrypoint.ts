/**
 * The node agent's entrypoint (lib/agent/agent.sh) and the contract between it and the
 * DaemonSet that runs it (docs/agent.md): where its Secret is mounted, the names of the files in
 * it, its environment, its readiness file. The manifests (manifests.ts) and the entrypoint's
 * tests use these names; nothing else spells them.
 */
import { sourceFile } from "../remote/sourceFile";

/** Where the agent's Secret is mounted in its container (read-only, mode 0400). */
export const AGENT_MOUNT = "/etc/dragonfly-agent";

/** The keys of the agent's Secret: the files under {@link AGENT_MOUNT}. */
export const AGENT_FILES = {
    /** This entrypoint. */
    entrypoint: "agent.sh",
    /** The node's apply script (`applyScript` of lib/node, as the SSH path runs it). */
    apply: "apply.sh",
    /** The node's restore script (`restoreScript` of lib/node). */
    restore: "restore.sh",
    /** One line `user:password` for the proxy; present only when the proxy requires basic auth. */
    proxyCredentials: "proxy-credentials",
} as const;

/** The file the agent writes once its node is configured; the readiness probe reads it. */
export const AGENT_READY_FILE = "/tmp/dragonfly-agent-ready";

/** Where the agent installs the scripts on the node (under the SSH path's state directory). */
export const AGENT_NODE_DIR = "/var/lib/dragonfly-cce/agent";

/** The environment the entrypoint reads (the DaemonSet sets it). */
export const AGENT_ENV = {
    /** The node's name (downward API `spec.nodeName`). */
    nodeName: "NODE_NAME",
    /** The namespace of the DaemonSet and its status ConfigMap (downward API). */
    namespace: "POD_NAMESPACE",
    /** The DaemonSet's name: on SIGTERM the agent restores only when it is being deleted. */
    daemonSet: "AGENT_DAEMONSET",
    /** The status ConfigMap each agent patches with its node's summary line. */
    statusConfigMap: "AGENT_STATUS_CONFIGMAP",
    /** Seconds between two applies (the resync). */
    resyncSeconds: "RESYNC_SECONDS",
} as const;

/** The entrypoint's text (busybox `sh`). */
export function agentEntrypoint(): string {
    return sourceFile(__dirname, AGENT_FILES.entrypoint);
}
