/**
 * The node agent's objects on a real kube-apiserver (v1.33.13 with kine, built by
 * scripts/tools.sh): every object the agent adds (the namespace's labels, ServiceAccount, Role,
 * RoleBinding, status ConfigMap, Secret, DaemonSet) is created with strict field validation, a pod
 * of its template passes admission (Pod Security, priority) in the labelled namespace and is
 * refused where the namespace enforces `baseline`, and the Role lets the agent's ServiceAccount do
 * exactly what docs/agent.md lists: checked with SubjectAccessReviews over a matrix of verbs and
 * objects, and with the agent's own calls made as the ServiceAccount (impersonation).
 */
import * as path from "path";
import * as fs from "fs";

import {
    AGENT_NAME,
    AGENT_STATUS_CONFIGMAP,
    agentConfigHash,
    agentNamespaceMetadata,
    agentScripts,
    agentSecretData,
    agentSecretManifest,
    AgentStack,
    daemonSetManifest,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../../lib/agent";
import { namespaceManifest } from "../../lib/cluster";
import { parseStackConfig } from "../../lib/config";
import { describePrivileged } from "../helpers/privileged";
import { ApiServer, ApiResponse, CreateResult } from "../helpers/kube/apiServer";
import { KubeObject, tempDir } from "../helpers/kube/helm";

const NS = "agent-system";
const SA_USER = `system:serviceaccount:${NS}:${AGENT_NAME}`;
const SA_GROUPS = ["system:serviceaccounts", `system:serviceaccounts:${NS}`, "system:authenticated"];

function agentStack(): AgentStack {
    const cfg = parseStackConfig({
        nodePool: "df-pool",
        namespace: NS,
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        proxy: { basicAuth: true },
        nodeAgent: {
            enabled: true,
            tolerations: [{ operator: "Exists" }, { key: "a", effect: "NoExecute", tolerationSeconds: 30 }],
        },
        rollout: { maxParallel: 3 },
    });
    return { core: cfg.core, nodes: cfg.nodes, nodeAgent: cfg.nodeAgent };
}

const asObject = (o: unknown) => o as KubeObject;

describePrivileged(
    "a real Kubernetes API server accepts the node agent's objects and enforces its least privilege",
    { tools: ["kube-apiserver", "kine"], commands: ["openssl"] },
    () => {
        const work = tempDir("dfcce-agent-api-");
        const server = new ApiServer(path.join(work, "apiserver"));
        const stack = agentStack();
        const scripts = agentScripts(stack, "http://192.168.0.177:4001");
        const hash = agentConfigHash(scripts);
        const ds = daemonSetManifest(stack, hash);
        const created: CreateResult[] = [];

        /** A SubjectAccessReview for the agent's ServiceAccount: is it allowed? */
        async function allowed(attrs: Record<string, string>): Promise<boolean> {
            const r = await server.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                apiVersion: "authorization.k8s.io/v1",
                kind: "SubjectAccessReview",
                spec: { user: SA_USER, groups: SA_GROUPS, resourceAttributes: attrs },
            });
            expect(r.status).toBe(201);
            return (r.body.status as { allowed: boolean }).allowed;
        }

        /** A request made as the agent's ServiceAccount. */
        function asAgent(method: string, url: string, body?: unknown, contentType?: string): Promise<ApiResponse> {
            const headers: Record<string, string> = { "Impersonate-User": SA_USER };
            return server.request(method, url, body, {
                ...headers,
                ...(contentType ? { "Content-Type": contentType } : {}),
            });
        }

        beforeAll(async () => {
            await server.start();
            const ns = namespaceManifest(stack.core as Parameters<typeof namespaceManifest>[0]);
            const extra = agentNamespaceMetadata();
            const objects: KubeObject[] = [
                asObject({
                    ...ns,
                    metadata: {
                        ...ns.metadata,
                        labels: { ...ns.metadata.labels, ...extra.labels },
                        annotations: extra.annotations,
                    },
                }),
                asObject(serviceAccountManifest(stack)),
                asObject(roleManifest(stack)),
                asObject(roleBindingManifest(stack)),
                asObject(statusConfigMapManifest(stack)),
                asObject(agentSecretManifest(stack, hash, agentSecretData(scripts, "dragonfly:not-a-real-password"))),
                asObject(ds),
            ];
            for (const o of objects) {
                created.push(await server.create(o));
            }
            // The RBAC authorizer sees the new binding once its informer has it.
            for (let tries = 0; tries < 100; tries++) {
                if (
                    await allowed({
                        namespace: NS,
                        verb: "get",
                        group: "apps",
                        resource: "daemonsets",
                        name: AGENT_NAME,
                    })
                ) {
                    break;
                }
                await new Promise((r) => setTimeout(r, 200));
            }
        }, 150_000);

        afterAll(async () => {
            await server.stop();
            fs.rmSync(work, { recursive: true, force: true });
        }, 30_000);

        test("every object is created with strict field validation", () => {
            expect(created.map((c) => [c.object, c.status, c.message])).toEqual([
                [`Namespace/${NS}`, 201, undefined],
                [`ServiceAccount/${NS}/${AGENT_NAME}`, 201, undefined],
                [`Role/${NS}/${AGENT_NAME}`, 201, undefined],
                [`RoleBinding/${NS}/${AGENT_NAME}`, 201, undefined],
                [`ConfigMap/${NS}/${AGENT_STATUS_CONFIGMAP}`, 201, undefined],
                [`Secret/${NS}/${AGENT_NAME}-${hash}`, 201, undefined],
                [`DaemonSet/${NS}/${AGENT_NAME}`, 201, undefined],
            ]);
        });

        test("the server keeps what the manifests say: immutable Secret, mode 0400, rollout, probes", async () => {
            const secret = await server.request("GET", `/api/v1/namespaces/${NS}/secrets/${AGENT_NAME}-${hash}`);
            expect(secret.body.immutable).toBe(true);
            expect(Object.keys(secret.body.data as object).sort()).toEqual([
                "agent.sh",
                "apply.sh",
                "proxy-credentials",
                "restore.sh",
            ]);
            const got = await server.request("GET", `/apis/apps/v1/namespaces/${NS}/daemonsets/${AGENT_NAME}`);
            const spec = got.body.spec as typeof ds.spec;
            expect(spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(3);
            expect(spec.template.spec.volumes[0].secret.defaultMode).toBe(0o400);
            expect(spec.template.spec.hostPID).toBe(true);
            expect(spec.template.spec.containers[0].securityContext).toEqual({ privileged: true });
            expect(spec.template.metadata.annotations["dragonfly-cce/config-hash"]).toBe(hash);
            // The immutable Secret's data cannot change: a new configuration needs a new Secret.
            const patch = await server.request(
                "PATCH",
                `/api/v1/namespaces/${NS}/secrets/${AGENT_NAME}-${hash}`,
                { stringData: { "apply.sh": "#!/bin/sh\n" } },
                { "Content-Type": "application/merge-patch+json" },
            );
            expect(patch.status).toBe(422);
            expect(patch.body.message).toMatch(/field is immutable when `immutable` is set/);
        });

        test("a pod of the template passes admission in the labelled namespace (Pod Security, priority class)", async () => {
            const pod = {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "agent-pod", namespace: NS, labels: ds.spec.template.metadata.labels },
                spec: { ...ds.spec.template.spec, nodeName: "node-1" },
            };
            const r = await server.request(
                "POST",
                `/api/v1/namespaces/${NS}/pods?dryRun=All&fieldValidation=Strict`,
                pod,
            );
            expect([r.status, r.body.message]).toEqual([201, undefined]);
            expect((r.body.spec as { priority: number }).priority).toBe(2000001000);
        });

        test("the same pod is refused where the namespace enforces baseline (the label is what lets it in)", async () => {
            const strict = "agent-baseline";
            expect(
                (
                    await server.create({
                        apiVersion: "v1",
                        kind: "Namespace",
                        metadata: { name: strict, labels: { "pod-security.kubernetes.io/enforce": "baseline" } },
                    })
                ).status,
            ).toBe(201);
            const sa = await server.create(
                asObject({ ...serviceAccountManifest(stack), metadata: { name: AGENT_NAME, namespace: strict } }),
            );
            expect(sa.status).toBe(201);
            const r = await server.request("POST", `/api/v1/namespaces/${strict}/pods?dryRun=All`, {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "agent-pod", namespace: strict },
                spec: { ...ds.spec.template.spec, nodeName: "node-1" },
            });
            expect(r.status).toBe(403);
            expect(r.body.message).toMatch(
                /violates PodSecurity "baseline:latest": host namespaces \(hostPID=true\), privileged/,
            );
        });

        test.each([
            ["get its DaemonSet", { verb: "get", group: "apps", resource: "daemonsets", name: AGENT_NAME }],
            ["get its status ConfigMap", { verb: "get", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP }],
            ["patch its status ConfigMap", { verb: "patch", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP }],
        ])("allowed: %s", async (_, attrs) => {
            expect(await allowed({ namespace: NS, ...attrs })).toBe(true);
        });

        test.each([
            ["list DaemonSets", { verb: "list", group: "apps", resource: "daemonsets" }],
            ["watch its DaemonSet", { verb: "watch", group: "apps", resource: "daemonsets", name: AGENT_NAME }],
            ["update its DaemonSet", { verb: "update", group: "apps", resource: "daemonsets", name: AGENT_NAME }],
            ["patch its DaemonSet", { verb: "patch", group: "apps", resource: "daemonsets", name: AGENT_NAME }],
            ["delete its DaemonSet", { verb: "delete", group: "apps", resource: "daemonsets", name: AGENT_NAME }],
            ["get another DaemonSet", { verb: "get", group: "apps", resource: "daemonsets", name: "dragonfly-client" }],
            ["list ConfigMaps", { verb: "list", resource: "configmaps" }],
            ["watch its status", { verb: "watch", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP }],
            ["update its status", { verb: "update", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP }],
            ["delete its status", { verb: "delete", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP }],
            ["create ConfigMaps", { verb: "create", resource: "configmaps" }],
            ["patch another ConfigMap", { verb: "patch", resource: "configmaps", name: "dragonfly-manager" }],
            ["get its own Secret", { verb: "get", resource: "secrets", name: `${AGENT_NAME}-${"0".repeat(10)}` }],
            ["list Secrets", { verb: "list", resource: "secrets" }],
            ["get pods", { verb: "get", resource: "pods", name: "x" }],
            ["create pods", { verb: "create", resource: "pods" }],
            [
                "get its ServiceAccount's token",
                { verb: "create", resource: "serviceaccounts", subresource: "token", name: AGENT_NAME },
            ],
            [
                "patch its Role",
                { verb: "patch", group: "rbac.authorization.k8s.io", resource: "roles", name: AGENT_NAME },
            ],
            [
                "get its DaemonSet's status",
                { verb: "get", group: "apps", resource: "daemonsets", subresource: "status", name: AGENT_NAME },
            ],
        ])("denied: %s", async (_, attrs) => {
            expect(await allowed({ namespace: NS, ...attrs })).toBe(false);
        });

        test.each([
            [
                "get its DaemonSet in another namespace",
                { namespace: "default", verb: "get", group: "apps", resource: "daemonsets", name: AGENT_NAME },
            ],
            [
                "patch its status in another namespace",
                { namespace: "kube-system", verb: "patch", resource: "configmaps", name: AGENT_STATUS_CONFIGMAP },
            ],
            ["get nodes (cluster scope)", { verb: "get", resource: "nodes", name: "node-1" }],
            ["list namespaces", { verb: "list", resource: "namespaces" }],
        ])("denied: %s", async (_, attrs) => {
            expect(await allowed(attrs)).toBe(false);
        });

        test("the agent's own calls, as its ServiceAccount: read the DaemonSet, merge-patch its node's line; nothing else", async () => {
            const dsGet = await asAgent("GET", `/apis/apps/v1/namespaces/${NS}/daemonsets/${AGENT_NAME}`);
            expect(dsGet.status).toBe(200);
            expect((dsGet.body.metadata as { deletionTimestamp?: string }).deletionTimestamp).toBeUndefined();
            const line = "dragonfly-cce: changed=-, restarted=no";
            const patch = await asAgent(
                "PATCH",
                `/api/v1/namespaces/${NS}/configmaps/${AGENT_STATUS_CONFIGMAP}`,
                { data: { "node-1": line } },
                "application/merge-patch+json",
            );
            expect(patch.status).toBe(200);
            expect((patch.body.data as Record<string, string>)["node-1"]).toBe(line);
            // Removing the node's entry on restore is a merge patch with null.
            const remove = await asAgent(
                "PATCH",
                `/api/v1/namespaces/${NS}/configmaps/${AGENT_STATUS_CONFIGMAP}`,
                { data: { "node-1": null } },
                "application/merge-patch+json",
            );
            expect(remove.status).toBe(200);
            expect(remove.body.data ?? {}).toEqual({});
            for (const [method, url] of [
                ["GET", `/api/v1/namespaces/${NS}/secrets/${AGENT_NAME}-${hash}`],
                ["GET", `/api/v1/namespaces/${NS}/configmaps`],
                ["GET", `/apis/apps/v1/namespaces/${NS}/daemonsets`],
                ["DELETE", `/apis/apps/v1/namespaces/${NS}/daemonsets/${AGENT_NAME}`],
                ["GET", `/api/v1/nodes`],
            ]) {
                const r = await asAgent(method, url);
                expect({ method, url, status: r.status }).toEqual({ method, url, status: 403 });
            }
        });
    },
);
