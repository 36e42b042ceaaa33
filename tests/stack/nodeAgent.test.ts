/**
 * The node agent (components/nodeAgent.ts) inside the stack under Pulumi's mock engine: its
 * objects, their parents and order (destroy deletes the DaemonSet first), the Secret's data as
 * Pulumi secrets, the content-hashed Secret name the DaemonSet mounts, the namespace's Pod
 * Security label, and `agentNodes` read from the status ConfigMap.
 */
import * as pulumi from "@pulumi/pulumi";

import {
    CapturedOptions,
    captureOptions,
    MOCK_LB_IP,
    mockPassword,
    plainLeaks,
    recordResources,
    Registered,
    resolve,
} from "../helpers/mockEngine";
import { logMark, pulumiMessages, pulumiWarnings } from "../helpers/pulumiLog";

const registered: Registered[] = recordResources({
    adjustState: (args, state) =>
        args.type === "kubernetes:core/v1:ConfigMap" && args.name.endsWith("-status-read")
            ? {
                  ...state,
                  data: {
                      "node-b": "dragonfly-cce: changed=/etc/containerd/config.toml, restarted=yes",
                      "node-c": "failed: dragonfly-cce: containerd did not come back",
                      "node-a": "dragonfly-cce: changed=-, restarted=no",
                  },
              }
            : state,
});

import { DragonflyCce } from "../../components/dragonflyCce";
import { agentConfigHash, agentScripts, daemonSetManifest, AGENT_FILES } from "../../lib/agent";
import { SECRET_LENGTHS } from "../../lib/cluster";
import { parseStackConfig, RawStackConfig } from "../../lib/config";

const BASE: RawStackConfig = {
    nodePool: "test-dragonfly-nodepool",
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
    console: { rotatePassword: false },
};

interface Built {
    stack: DragonflyCce;
    captured: CapturedOptions[];
    ignored: Map<string, string[]>;
    timeouts: Map<string, pulumi.CustomTimeouts | undefined>;
    resources: Registered[];
    cfg: ReturnType<typeof parseStackConfig>;
}

async function build(raw: RawStackConfig): Promise<Built> {
    const before = registered.length;
    const captured: CapturedOptions[] = [];
    const ignored = new Map<string, string[]>();
    const timeouts = new Map<string, pulumi.CustomTimeouts | undefined>();
    const cfg = parseStackConfig({ ...BASE, ...raw });
    const stack = new DragonflyCce("dragonfly", cfg, {
        transformations: [
            captureOptions(captured),
            (args) => {
                ignored.set(args.name, args.opts.ignoreChanges ?? []);
                timeouts.set(args.name, (args.opts as pulumi.CustomResourceOptions).customTimeouts);
                return undefined;
            },
        ],
    });
    await resolve(pulumi.all([stack.agentNodes, stack.proxyUrl, stack.namespace, stack.releaseStatus]));
    // The read of the status ConfigMap registers once the DaemonSet has.
    await new Promise((r) => setTimeout(r, 50));
    return { stack, captured, ignored, timeouts, resources: registered.slice(before), cfg };
}

function one(b: Built, type: string, nameSuffix = ""): Registered {
    const found = b.resources.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
    expect(found.map((r) => r.name)).toHaveLength(1);
    return found[0];
}

function captured(b: Built, type: string, nameSuffix = ""): CapturedOptions {
    const found = b.captured.filter((c) => c.type === type && c.name.endsWith(nameSuffix));
    expect(found.map((c) => c.name)).toHaveLength(1);
    return found[0];
}

describe("the node agent in the stack (proxy mode with basic auth)", () => {
    let b: Built;
    let mark: number;
    const credentials = () => `dragonfly:${mockPassword("dragonfly-proxy-password", SECRET_LENGTHS.proxyPassword)}`;

    let buildMark: number;

    beforeAll(async () => {
        buildMark = logMark();
        b = await build({ nodeAgent: { enabled: true }, proxy: { basicAuth: true }, rollout: { maxParallel: 2 } });
    });

    test("the preview's note on the empty nodes says the agent configures the nodes", () => {
        const empty = pulumiMessages("info", buildMark).filter((m) => m.startsWith("nodes is empty"));
        expect(empty).toEqual([
            "nodes is empty: no node is configured over SSH; the node agent (dragonfly-cce:nodeAgent) configures " +
                "the nodes its DaemonSet selects (the agentNodes output lists them)",
        ]);
    });

    test("adds the component and exactly its seven objects (and the read of its status)", () => {
        const agentTypes = b.captured
            .filter((c) => c.name.startsWith("dragonfly-agent"))
            .map((c) => `${c.type} ${c.name}`)
            .sort();
        expect(agentTypes).toEqual(
            [
                "dragonfly:index:NodeAgent dragonfly-agent",
                "kubernetes:core/v1:Secret dragonfly-agent-config",
                "kubernetes:core/v1:ServiceAccount dragonfly-agent-service-account",
                "kubernetes:rbac.authorization.k8s.io/v1:Role dragonfly-agent-role",
                "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding dragonfly-agent-role-binding",
                "kubernetes:core/v1:ConfigMap dragonfly-agent-status",
                "kubernetes:apps/v1:DaemonSet dragonfly-agent-daemonset",
                "kubernetes:core/v1:ConfigMap dragonfly-agent-status-read",
            ].sort(),
        );
    });

    test("every object is a child of the NodeAgent, the NodeAgent of the stack", () => {
        const agent = captured(b, "dragonfly:index:NodeAgent");
        expect(agent.parent).toBe(b.stack);
        for (const c of b.captured.filter((x) => x.name.startsWith("dragonfly-agent-"))) {
            expect({ name: c.name, parentIsAgent: c.parent === agent.resource }).toEqual({
                name: c.name,
                parentIsAgent: true,
            });
        }
    });

    test("the DaemonSet depends on the Secret, RBAC and ConfigMap (destroy deletes it first), the release and the proxy", () => {
        const ds = captured(b, "kubernetes:apps/v1:DaemonSet");
        const deps = ds.dependsOn;
        for (const [type, suffix] of [
            ["kubernetes:core/v1:Secret", "-config"],
            ["kubernetes:core/v1:ServiceAccount", ""],
            ["kubernetes:rbac.authorization.k8s.io/v1:Role", ""],
            ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ""],
            ["kubernetes:core/v1:ConfigMap", "-status"],
            ["kubernetes:helm.sh/v3:Release", ""],
        ]) {
            expect({ type, in: deps.includes(captured(b, type, suffix).resource) }).toEqual({ type, in: true });
        }
        const proxySvc = b.captured.find(
            (c) => c.type === "kubernetes:core/v1:Service" && c.name === "dragonfly-proxy-service",
        );
        expect(deps).toContain(proxySvc?.resource);
        // The read of the status comes after the DaemonSet (and so after its rollout).
        expect(captured(b, "kubernetes:core/v1:ConfigMap", "-status-read").dependsOn).toEqual([ds.resource]);
    });

    test("the Secret: immutable, named after its content hash, its data a Pulumi secret with the credentials", () => {
        const secret = one(b, "kubernetes:core/v1:Secret", "-config");
        const scripts = agentScripts(
            { core: b.cfg.core, nodes: b.cfg.nodes, nodeAgent: b.cfg.nodeAgent },
            `http://${MOCK_LB_IP}:4001`,
        );
        const hash = agentConfigHash(scripts);
        expect(secret.inputs.metadata.name).toBe(`dragonfly-node-agent-${hash}`);
        expect(secret.inputs.metadata.namespace).toBe("dragonfly-system");
        expect(secret.inputs.immutable).toBe(true);
        expect(secret.secretPaths).toEqual(["stringData"]);
        expect(secret.inputs.stringData).toEqual({
            [AGENT_FILES.entrypoint]: scripts.entrypoint,
            [AGENT_FILES.apply]: scripts.apply,
            [AGENT_FILES.restore]: scripts.restore,
            [AGENT_FILES.proxyCredentials]: credentials(),
        });
        // The apply script points at the proxy LoadBalancer's URL, as NodeFleet's would.
        expect(scripts.apply).toContain(`ENDPOINT='http://${MOCK_LB_IP}:4001'`);
    });

    test("the credentials show nowhere in plain (inputs, outputs)", async () => {
        expect(await plainLeaks(b.resources, b.captured, [credentials().split(":")[1]])).toEqual([]);
    });

    test("the DaemonSet mounts that Secret and carries its hash; it rolls rollout.maxParallel nodes at a time", () => {
        const ds = one(b, "kubernetes:apps/v1:DaemonSet");
        const hash = one(b, "kubernetes:core/v1:Secret", "-config").inputs.metadata.name.replace(
            "dragonfly-node-agent-",
            "",
        );
        expect(ds.inputs.metadata).toMatchObject({ name: "dragonfly-node-agent", namespace: "dragonfly-system" });
        expect(ds.inputs.spec).toEqual(
            JSON.parse(
                JSON.stringify(
                    daemonSetManifest({ core: b.cfg.core, nodes: b.cfg.nodes, nodeAgent: b.cfg.nodeAgent }, hash).spec,
                ),
            ),
        );
        expect(ds.inputs.spec.template.metadata.annotations["dragonfly-cce/config-hash"]).toBe(hash);
        expect(ds.inputs.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(2);
        expect(ds.secretPaths).toEqual([]);
    });

    test("up waits 30 minutes for the rollout, destroy 10 for the restores", () => {
        expect(b.timeouts.get("dragonfly-agent-daemonset")).toEqual({ create: "30m", update: "30m", delete: "10m" });
    });

    test("the status ConfigMap is created empty and its data is left to the agents", () => {
        const cm = one(b, "kubernetes:core/v1:ConfigMap", "-status");
        expect(cm.inputs.metadata.name).toBe("dragonfly-node-agent-status");
        expect(cm.inputs.data).toBeUndefined();
        expect(b.ignored.get("dragonfly-agent-status")).toEqual(["data"]);
        expect(b.ignored.get("dragonfly-agent-daemonset")).toEqual([]);
    });

    test("the namespace allows privileged pods, and says why", () => {
        const ns = one(b, "kubernetes:core/v1:Namespace");
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
        expect(ns.inputs.metadata.annotations["dragonfly-cce/pod-security-reason"]).toMatch(
            /dragonfly-node-agent .* privileged with hostPID/,
        );
    });

    test("agentNodes: the nodes whose status line says configured, sorted, read from the status ConfigMap", async () => {
        expect(await resolve(b.stack.agentNodes)).toEqual(["node-a", "node-b"]);
        expect(await pulumi.isSecret(b.stack.agentNodes)).toBe(false);
    });

    test("the console warning says the agent does not rotate the password", async () => {
        mark = logMark();
        const withRotation = await build({ nodeAgent: { enabled: true }, console: { rotatePassword: true } });
        expect(withRotation.stack.agent).toBeDefined();
        expect(pulumiWarnings(mark)).toEqual([
            expect.stringMatching(/^consoleUrl is not set/),
            expect.stringMatching(
                /^console\.rotatePassword is on but no node is configured .*The node agent does not rotate it \(the rotation runs over SSH/,
            ),
        ]);
    });
});

describe("mirror mode with the local endpoint", () => {
    test("the scripts point at the node's own client and the DaemonSet stays on the pool", async () => {
        const b = await build({ nodeAgent: { enabled: true }, runtimeMode: "mirror", mirrorEndpoint: "local" });
        const secret = one(b, "kubernetes:core/v1:Secret", "-config");
        expect(secret.inputs.stringData[AGENT_FILES.apply]).toContain("ENDPOINT='http://127.0.0.1:4001'");
        expect(Object.keys(secret.inputs.stringData)).not.toContain(AGENT_FILES.proxyCredentials);
        const ds = one(b, "kubernetes:apps/v1:DaemonSet");
        expect(ds.inputs.spec.template.spec.nodeSelector).toEqual({
            "cce.cloud.com/cce-nodepool": "test-dragonfly-nodepool",
        });
    });
});

describe("the agent off", () => {
    test("no agent object, no Pod Security label, agentNodes absent", async () => {
        const b = await build({ nodeAgent: { enabled: false } });
        expect(b.stack.agent).toBeUndefined();
        expect(b.captured.filter((c) => c.name.startsWith("dragonfly-agent"))).toEqual([]);
        const ns = one(b, "kubernetes:core/v1:Namespace");
        expect(ns.inputs.metadata).toEqual({
            name: "dragonfly-system",
            labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "dragonfly" },
        });
        expect(await resolve(b.stack.agentNodes)).toBeUndefined();
    });
});
