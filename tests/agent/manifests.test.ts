/**
 * The node agent's manifests (lib/agent/manifests.ts) against docs/agent.md: least-privilege RBAC,
 * the DaemonSet's security context and wiring, no secret outside the Secret, a content hash that
 * changes exactly when the files the pods run change, and the very scripts the SSH path runs.
 */
import { parseStackConfig, RawStackConfig } from "../../lib/config";
import {
    AGENT_ENV,
    AGENT_FILES,
    AGENT_MOUNT,
    AGENT_NAME,
    AGENT_READY_FILE,
    AGENT_RULES,
    AGENT_STATUS_CONFIGMAP,
    agentConfigHash,
    agentEntrypoint,
    agentNamespaceMetadata,
    agentScripts,
    agentSecretData,
    agentSecretManifest,
    agentSecretName,
    AgentStack,
    configuredAgentNodes,
    daemonSetManifest,
    isConfiguredStatus,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../../lib/agent";
import { applyScript, planNodes, restoreScript } from "../../lib/node";
import { testCertificates } from "../helpers/testCa";

const URL = "http://192.168.0.177:4001";
const BASE: RawStackConfig = {
    nodePool: "df-pool",
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
    nodeAgent: { enabled: true },
};

function agentStack(raw: RawStackConfig = {}): AgentStack {
    const cfg = parseStackConfig({ ...BASE, ...raw });
    return { core: cfg.core, nodes: cfg.nodes, nodeAgent: cfg.nodeAgent };
}

function hashOf(raw: RawStackConfig, endpoint = URL): string {
    return agentConfigHash(agentScripts(agentStack(raw), endpoint));
}

describe("RBAC: exactly what docs/agent.md lists", () => {
    const stack = agentStack({ namespace: "df" });

    test("the Role: get its own DaemonSet; get and patch its status ConfigMap; nothing else", () => {
        expect(roleManifest(stack)).toEqual({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "dragonfly-node-agent", namespace: "df", labels: expect.any(Object) },
            rules: [
                {
                    apiGroups: ["apps"],
                    resources: ["daemonsets"],
                    resourceNames: ["dragonfly-node-agent"],
                    verbs: ["get"],
                },
                {
                    apiGroups: [""],
                    resources: ["configmaps"],
                    resourceNames: ["dragonfly-node-agent-status"],
                    verbs: ["get", "patch"],
                },
            ],
        });
    });

    test("every rule names its objects; no list, watch, create, update, delete, no wildcard", () => {
        for (const rule of AGENT_RULES) {
            expect(rule.resourceNames.length).toBeGreaterThan(0);
            for (const verb of rule.verbs) {
                expect(["get", "patch"]).toContain(verb);
            }
            expect([...rule.apiGroups, ...rule.resources, ...rule.resourceNames, ...rule.verbs]).not.toContain("*");
        }
        // Only the ConfigMap may be written.
        expect(AGENT_RULES.filter((r) => r.verbs.includes("patch")).map((r) => r.resources)).toEqual([["configmaps"]]);
    });

    test("the RoleBinding binds that Role (not a ClusterRole) to the agent's ServiceAccount in its namespace", () => {
        expect(roleBindingManifest(stack)).toMatchObject({
            kind: "RoleBinding",
            metadata: { name: AGENT_NAME, namespace: "df" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: AGENT_NAME },
            subjects: [{ kind: "ServiceAccount", name: AGENT_NAME, namespace: "df" }],
        });
        expect(serviceAccountManifest(stack)).toMatchObject({
            kind: "ServiceAccount",
            metadata: { name: AGENT_NAME, namespace: "df" },
            automountServiceAccountToken: true,
        });
    });

    test("every object carries the agent's labels", () => {
        for (const m of [
            roleManifest(stack),
            roleBindingManifest(stack),
            serviceAccountManifest(stack),
            statusConfigMapManifest(stack),
            daemonSetManifest(stack, "0123456789"),
            agentSecretManifest(stack, "0123456789", {}),
        ]) {
            expect(m.metadata.labels).toMatchObject({
                "app.kubernetes.io/part-of": "dragonfly",
                "app.kubernetes.io/component": "node-agent",
            });
        }
    });
});

describe("the DaemonSet", () => {
    const stack = agentStack({ rollout: { maxParallel: 3 }, imageRegistry: "swr.example.com/mirror" });
    const ds = daemonSetManifest(stack, "abcdef0123");
    const pod = ds.spec.template.spec;
    const container = pod.containers[0];

    test("hostPID, one privileged container running the entrypoint from the Secret", () => {
        expect(pod.hostPID).toBe(true);
        expect(pod.containers).toHaveLength(1);
        expect(container.name).toBe("agent");
        expect(container.securityContext).toEqual({ privileged: true });
        expect(container.command).toEqual(["sh", "/etc/dragonfly-agent/agent.sh"]);
        expect(container.image).toBe("swr.example.com/mirror/library/busybox:1.37.0");
    });

    test("the Secret is mounted read-only at the entrypoint's mount, mode 0400", () => {
        expect(container.volumeMounts).toEqual([{ name: "config", mountPath: AGENT_MOUNT, readOnly: true }]);
        expect(pod.volumes).toEqual([
            { name: "config", secret: { secretName: "dragonfly-node-agent-abcdef0123", defaultMode: 0o400 } },
        ]);
        expect(AGENT_MOUNT).toBe("/etc/dragonfly-agent");
    });

    test("the environment: node name and namespace from the downward API, names and resync as values", () => {
        expect(container.env).toEqual([
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            { name: "AGENT_DAEMONSET", value: "dragonfly-node-agent" },
            { name: "AGENT_STATUS_CONFIGMAP", value: "dragonfly-node-agent-status" },
            { name: "RESYNC_SECONDS", value: "600" },
        ]);
        expect(container.env.map((e) => e.name).sort()).toEqual(Object.values(AGENT_ENV).sort());
        expect(
            daemonSetManifest(agentStack({ nodeAgent: { enabled: true, resyncInterval: "45s" } }), "h").spec.template
                .spec.containers[0].env[4],
        ).toEqual({ name: "RESYNC_SECONDS", value: "45" });
    });

    test("ready only once the node is configured; 10m/32Mi; node-critical; 300 s to restore on SIGTERM", () => {
        expect(container.readinessProbe).toEqual({ exec: { command: ["cat", AGENT_READY_FILE] }, periodSeconds: 5 });
        expect(AGENT_READY_FILE).toBe("/tmp/dragonfly-agent-ready");
        expect(container.resources).toEqual({ requests: { cpu: "10m", memory: "32Mi" } });
        expect(pod.priorityClassName).toBe("system-node-critical");
        expect(pod.terminationGracePeriodSeconds).toBe(300);
        expect(pod.serviceAccountName).toBe(AGENT_NAME);
    });

    test("rolls rollout.maxParallel nodes at a time; the pod template carries the Secret's hash", () => {
        expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 3 } });
        expect(ds.spec.template.metadata.annotations).toEqual({ "dragonfly-cce/config-hash": "abcdef0123" });
        expect(daemonSetManifest(agentStack(), "h").spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(5);
    });

    test("the selector matches the template's labels", () => {
        expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
        expect(ds.spec.selector.matchLabels).toEqual({
            "app.kubernetes.io/part-of": "dragonfly",
            "app.kubernetes.io/component": "node-agent",
        });
    });

    test("placement: every Linux node and every taint by default; the pool in mirror mode with the local endpoint", () => {
        expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
        expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
        const local = daemonSetManifest(
            agentStack({ runtimeMode: "mirror", mirrorEndpoint: "local", nodePoolLabelKey: "example.com/pool" }),
            "h",
        );
        expect(local.spec.template.spec.nodeSelector).toEqual({ "example.com/pool": "df-pool" });
        const chosen = daemonSetManifest(
            agentStack({
                nodeAgent: {
                    enabled: true,
                    nodeSelector: { zone: "az1" },
                    tolerations: [{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" }],
                },
            }),
            "h",
        ).spec.template.spec;
        expect(chosen.nodeSelector).toEqual({ zone: "az1" });
        expect(chosen.tolerations).toEqual([
            { key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" },
        ]);
    });

    test("imagePullSecrets as the chart's images get them; the digest pins the image", () => {
        expect(pod.imagePullSecrets).toBeUndefined();
        const pinned = daemonSetManifest(
            agentStack({
                imagePullSecrets: ["swr-pull"],
                nodeAgent: { enabled: true, image: { digest: `sha256:${"0f".repeat(32)}` } },
            }),
            "h",
        ).spec.template.spec;
        expect(pinned.imagePullSecrets).toEqual([{ name: "swr-pull" }]);
        expect(pinned.containers[0].image).toBe(`docker.io/library/busybox:1.37.0@sha256:${"0f".repeat(32)}`);
    });
});

describe("secrets stay in the Secret", () => {
    const CREDENTIALS = "dragonfly:S3cretPassw0rdForTheProxy";
    const stack = agentStack({ proxy: { basicAuth: true } });
    const scripts = agentScripts(stack, URL);

    test("the Secret: the entrypoint, both scripts, and the credentials only when the proxy needs them", () => {
        expect(scripts.proxyAuth).toBe(true);
        expect(agentSecretData(scripts, CREDENTIALS)).toEqual({
            "agent.sh": agentEntrypoint(),
            "apply.sh": scripts.apply,
            "restore.sh": scripts.restore,
            "proxy-credentials": CREDENTIALS,
        });
        expect(Object.keys(agentSecretData(agentScripts(agentStack(), URL)))).toEqual([
            AGENT_FILES.entrypoint,
            AGENT_FILES.apply,
            AGENT_FILES.restore,
        ]);
        expect(() => agentSecretData(scripts)).toThrow(/reads proxy credentials, and none were given/);
        const m = agentSecretManifest(stack, "h", agentSecretData(scripts, CREDENTIALS));
        expect(m).toMatchObject({ kind: "Secret", type: "Opaque", immutable: true });
        expect(m.metadata.name).toBe(agentSecretName("h"));
    });

    test("the credentials are in neither the scripts, the DaemonSet, the ConfigMap nor the hash", () => {
        const hash = agentConfigHash(scripts);
        const plain = JSON.stringify([
            scripts,
            daemonSetManifest(stack, hash),
            statusConfigMapManifest(stack),
            serviceAccountManifest(stack),
            roleManifest(stack),
        ]);
        expect(plain).not.toContain("S3cretPassw0rd");
        // The env holds values and downward-API fields only: no secretKeyRef, no configMapKeyRef.
        for (const e of daemonSetManifest(stack, hash).spec.template.spec.containers[0].env) {
            expect(Object.keys(e).sort()).toEqual("value" in e ? ["name", "value"] : ["name", "valueFrom"]);
        }
    });

    test("the status ConfigMap is created empty", () => {
        expect(statusConfigMapManifest(stack)).toEqual({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: AGENT_STATUS_CONFIGMAP, namespace: "dragonfly-system", labels: expect.any(Object) },
        });
    });
});

describe("the same scripts as the SSH path", () => {
    const { ca } = testCertificates();
    test.each([
        ["proxy mode", {}],
        ["proxy mode with basic auth", { proxy: { basicAuth: true } }],
        ["proxy mode with proxy.ca", { proxy: { ca: { certificate: ca.certificate, key: ca.key } } }],
        ["mirror mode", { runtimeMode: "mirror", allRegistries: true }],
        ["mirror mode, local endpoint", { runtimeMode: "mirror", mirrorEndpoint: "local" }],
        ["NO_PROXY and cluster CIDRs", { noProxy: [".corp.example"], clusterCidrs: ["10.247.0.0/16"] }],
    ])("%s: apply.sh and restore.sh are planNodes' for a containerd node", (_, raw) => {
        const stack = agentStack(raw as RawStackConfig);
        // The SSH path, with the agent off and one containerd node listed.
        const ssh = parseStackConfig({
            ...BASE,
            ...(raw as RawStackConfig),
            nodeAgent: undefined,
            nodes: [{ host: "192.168.0.11" }],
            ssh: { password: "x" },
        });
        const [plan] = planNodes(ssh.nodes, {
            proxyUrl: URL,
            proxyPort: ssh.core.proxy.port,
            proxyAuth: ssh.core.proxy.basicAuth,
            proxyCa: ssh.core.proxy.ca,
        });
        expect(plan.node.runtime).toBe("containerd");
        const scripts = agentScripts(stack, URL);
        expect(scripts.apply).toBe(applyScript({ ...plan.spec, endpoint: plan.endpoint }));
        expect(scripts.restore).toBe(restoreScript({ runtime: "containerd" }));
        expect(scripts.proxyAuth).toBe(plan.spec.proxyAuth === true);
    });

    test("mirror mode with the local endpoint does not use the proxy URL", () => {
        const stack = agentStack({ runtimeMode: "mirror", mirrorEndpoint: "local" });
        expect(agentScripts(stack, "http://10.0.0.1:4001").apply).toBe(agentScripts(stack, URL).apply);
        expect(agentScripts(stack, URL).apply).toContain("ENDPOINT='http://127.0.0.1:4001'");
    });
});

describe("the content hash", () => {
    const base = hashOf({});

    test("a short hex name part", () => {
        expect(base).toMatch(/^[0-9a-f]{10}$/);
        expect(agentSecretName(base)).toBe(`dragonfly-node-agent-${base}`);
    });

    test.each([
        ["another proxy URL", {}, "http://192.168.0.178:4001"],
        ["another registry", { registries: ["registry.example.com"] }, URL],
        ["mirror mode", { runtimeMode: "mirror" }, URL],
        ["allRegistries", { runtimeMode: "mirror", allRegistries: true }, URL],
        ["NO_PROXY", { noProxy: [".corp.example"] }, URL],
        ["basic auth (credentials on stdin)", { proxy: { basicAuth: true } }, URL],
    ])("changes with the scripts: %s", (_, raw, url) => {
        const changed = agentScripts(agentStack(raw as RawStackConfig), url);
        expect(changed.apply === agentScripts(agentStack(), URL).apply && !changed.proxyAuth).toBe(false);
        expect(hashOf(raw as RawStackConfig, url)).not.toBe(base);
    });

    test.each([
        ["nodeSelector", { nodeAgent: { enabled: true, nodeSelector: { zone: "az1" } } }],
        ["tolerations", { nodeAgent: { enabled: true, tolerations: [] } }],
        ["image", { nodeAgent: { enabled: true, image: { tag: "1.36.1" } } }],
        ["resyncInterval", { nodeAgent: { enabled: true, resyncInterval: "1h" } }],
        ["rollout.maxParallel", { rollout: { maxParallel: 2 } }],
        ["namespace", { namespace: "other" }],
        ["imageRegistry", { imageRegistry: "swr.example.com" }],
    ])("does not change when the scripts do not: %s", (_, raw) => {
        expect(agentScripts(agentStack(raw as RawStackConfig), URL)).toEqual(agentScripts(agentStack(), URL));
        expect(hashOf(raw as RawStackConfig)).toBe(base);
    });

    test("each file counts, and where one ends and the next begins", () => {
        const s = agentScripts(agentStack(), URL);
        const hashes = new Set([
            agentConfigHash(s),
            agentConfigHash({ ...s, entrypoint: `${s.entrypoint}#` }),
            agentConfigHash({ ...s, apply: `${s.apply}#` }),
            agentConfigHash({ ...s, restore: `${s.restore}#` }),
            agentConfigHash({ ...s, proxyAuth: !s.proxyAuth }),
            agentConfigHash({ ...s, apply: `${s.apply}#`, restore: s.restore.slice(0, -1) }),
            agentConfigHash({ ...s, apply: s.apply + s.restore.slice(0, 1), restore: s.restore.slice(1) }),
        ]);
        expect(hashes.size).toBe(7);
    });
});

describe("the namespace and the status", () => {
    test("the namespace allows privileged pods and says why", () => {
        const m = agentNamespaceMetadata();
        expect(m.labels).toEqual({ "pod-security.kubernetes.io/enforce": "privileged" });
        expect(Object.keys(m.annotations)).toEqual(["dragonfly-cce/pod-security-reason"]);
        expect(m.annotations["dragonfly-cce/pod-security-reason"]).toMatch(
            /^the DaemonSet dragonfly-node-agent \(dragonfly-cce:nodeAgent\) runs privileged with hostPID: it enters its node's namespaces to edit containerd's configuration and restart containerd/,
        );
    });

    test("configured nodes: those whose line is the apply's summary, not a failure", () => {
        expect(isConfiguredStatus("dragonfly-cce: changed=-, restarted=no")).toBe(true);
        expect(isConfiguredStatus("failed: containerd did not come back")).toBe(false);
        expect(isConfiguredStatus("")).toBe(false);
        expect(
            configuredAgentNodes({
                "node-b": "dragonfly-cce: changed=/etc/containerd/config.toml, restarted=yes",
                "node-c": "failed: dragonfly-cce: apply failed",
                "node-a": "dragonfly-cce: changed=-, restarted=no",
            }),
        ).toEqual(["node-a", "node-b"]);
        expect(configuredAgentNodes(undefined)).toEqual([]);
        expect(configuredAgentNodes({})).toEqual([]);
    });
});
