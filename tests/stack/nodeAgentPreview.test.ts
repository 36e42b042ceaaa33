/**
 * The node agent in the preview of a new stack, with the providers answering as the real ones do
 * (tests/helpers/mockEngine.ts, `providers: "preview"`): the proxy LoadBalancer's URL is unknown,
 * so the scripts, the Secret's name and the pod template are unknown too (never built from
 * "undefined"), nothing throws, the objects that do not depend on it are known, and the status
 * ConfigMap is not read (its id is unknown: nothing exists to read yet).
 */
import * as pulumi from "@pulumi/pulumi";

import { recordResources, Registered, UNKNOWN_ID, waitFor } from "../helpers/mockEngine";

const registered: Registered[] = recordResources({ preview: true, providers: "preview" });

/** The ids the program asked to read, by resource name. */
const readIds = new Map<string, string>();
const monitor = pulumi.runtime.getMonitor() as any;
const readResource = monitor.readResource.bind(monitor);
monitor.readResource = (req: any, callback: unknown) => {
    readIds.set(req.getName(), req.getId());
    return readResource(req, callback);
};

import { DragonflyCce } from "../../components/dragonflyCce";
import { AGENT_FILES } from "../../lib/agent";
import { parseStackConfig, RawStackConfig } from "../../lib/config";

const BASE: RawStackConfig = {
    nodePool: "test-dragonfly-nodepool",
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
    console: { rotatePassword: false },
    nodeAgent: { enabled: true },
};

const stacks = new Map<string, DragonflyCce>();

async function preview(raw: RawStackConfig, name: string): Promise<Registered[]> {
    const before = registered.length;
    stacks.set(name, new DragonflyCce(name, parseStackConfig({ ...BASE, ...raw })));
    const mine = () => registered.slice(before);
    await waitFor(() => mine().some((r) => r.type === "kubernetes:apps/v1:DaemonSet"));
    await waitFor(() => readIds.has(`${name}-agent-status-read`));
    return mine();
}

function one(resources: Registered[], type: string, suffix = ""): Registered {
    const found = resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    expect(found.map((r) => r.name)).toHaveLength(1);
    return found[0];
}

describe("the agent in the preview of a new stack (proxy URL unknown)", () => {
    let rs: Registered[];
    beforeAll(async () => {
        rs = await preview({ proxy: { basicAuth: true } }, "p1");
    });

    test("the Secret's name and data and the pod template are unknown, not made up", () => {
        const secret = one(rs, "kubernetes:core/v1:Secret", "-agent-config");
        expect(secret.unknownPaths.sort()).toEqual(["metadata.name", "stringData"]);
        expect(secret.secretPaths).toEqual(["stringData"]);
        const ds = one(rs, "kubernetes:apps/v1:DaemonSet");
        // Only the two places that name the hash; the rest of the pod template shows in the preview.
        expect(ds.unknownPaths.sort()).toEqual([
            "spec.template.metadata.annotations.dragonfly-cce/config-hash",
            "spec.template.spec.volumes.0.secret.secretName",
        ]);
        expect(ds.inputs.metadata.name).toBe("dragonfly-node-agent");
        expect(ds.inputs.spec.template.spec.containers[0].securityContext).toEqual({ privileged: true });
        expect(ds.inputs.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(5);
        expect(JSON.stringify(rs.map((r) => r.inputs))).not.toMatch(/undefined|NaN/);
    });

    test("what does not depend on the proxy is known: RBAC, the status ConfigMap", () => {
        for (const [type, suffix] of [
            ["kubernetes:core/v1:ServiceAccount", ""],
            ["kubernetes:rbac.authorization.k8s.io/v1:Role", ""],
            ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ""],
            ["kubernetes:core/v1:ConfigMap", "-agent-status"],
        ]) {
            const r = one(rs, type, suffix);
            // The namespace comes from the Namespace resource: a new one's name is echoed in a preview.
            expect({ type, unknown: r.unknownPaths }).toEqual({ type, unknown: [] });
        }
        expect(one(rs, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs.rules).toHaveLength(2);
    });

    test("the status ConfigMap is not read: its id is unknown until the DaemonSet exists", () => {
        expect(readIds.get("p1-agent-status-read")).toBe(UNKNOWN_ID);
    });

    test("agentNodes is unknown, not an empty list", async () => {
        const impl = stacks.get("p1")!.agentNodes as unknown as { isKnown: Promise<boolean> };
        expect(await impl.isKnown).toBe(false);
    });
});

describe("mirror mode with the local endpoint in a preview", () => {
    test("the scripts need no proxy URL: the Secret and the pod template are known", async () => {
        const rs = await preview({ runtimeMode: "mirror", mirrorEndpoint: "local" }, "p2");
        const secret = one(rs, "kubernetes:core/v1:Secret", "-agent-config");
        expect(secret.unknownPaths).toEqual([]);
        expect(secret.inputs.metadata.name).toMatch(/^dragonfly-node-agent-[0-9a-f]{10}$/);
        expect(secret.inputs.stringData[AGENT_FILES.apply]).toContain("ENDPOINT='http://127.0.0.1:4001'");
        const ds = one(rs, "kubernetes:apps/v1:DaemonSet");
        expect(ds.unknownPaths).toEqual([]);
        expect(ds.inputs.spec.template.metadata.annotations["dragonfly-cce/config-hash"]).toBe(
            secret.inputs.metadata.name.replace("dragonfly-node-agent-", ""),
        );
    });
});
