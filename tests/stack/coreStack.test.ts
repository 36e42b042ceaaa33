/**
 * The core stack under Pulumi's mock engine: resources, parents, dependency order, properties,
 * outputs and secrets.
 */
import * as fs from "fs";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import {
    CapturedOptions,
    captureOptions,
    MOCK_LB_IP,
    MOCK_NODE_PORT,
    mockPassword,
    plainInputs,
    recordResources,
    Registered,
    resolve,
} from "../helpers/mockEngine";
import { logMark, pulumiMessages, pulumiWarnings } from "../helpers/pulumiLog";

const registered: Registered[] = recordResources();

import { DragonflyCce } from "../../components/dragonflyCce";
import { parseCoreConfig } from "../../lib/cluster/config";
import { DEFAULT_MAX_PARALLEL, parseNodeConfig } from "../../lib/node/config";
import { testCertificates } from "../helpers/testCa";

const BASE = { nodePool: "test-dragonfly-nodepool" };

interface Built {
    stack: DragonflyCce;
    captured: CapturedOptions[];
    resources: Registered[];
}

async function build(raw: Record<string, unknown> = {}, name = "dragonfly"): Promise<Built> {
    const before = registered.length;
    const captured: CapturedOptions[] = [];
    const stack = new DragonflyCce(
        name,
        { core: parseCoreConfig({ ...BASE, ...raw }) },
        { transformations: [captureOptions(captured)] },
    );
    // Resolving every output waits for every registration.
    await resolve(
        pulumi.all([stack.proxyAddress, stack.consoleUrl, stack.releaseStatus, stack.chartVersion, stack.namespace]),
    );
    return { stack, captured, resources: registered.slice(before) };
}

function one(b: Built, type: string): Registered {
    const found = b.resources.filter((r) => r.type === type);
    expect(found).toHaveLength(1);
    return found[0];
}

function capturedOf(b: Built, type: string): CapturedOptions[] {
    return b.captured.filter((c) => c.type === type);
}

describe("DragonflyCce (core stack)", () => {
    let b: Built;
    let mark: number;
    beforeAll(async () => {
        mark = logMark();
        b = await build();
    });

    test("without nodes, the node settings are the parser's defaults (rollout.maxParallel 5)", () => {
        expect(b.stack.nodeConfig).toEqual(parseNodeConfig({}));
        expect(b.stack.nodeConfig.rollout.maxParallel).toBe(DEFAULT_MAX_PARALLEL);
    });

    test("the preview says what is missing: no console URL, the default console password, no nodes", () => {
        expect(pulumiWarnings(mark)).toEqual([
            expect.stringMatching(
                /^consoleUrl is not set: no node address is known\. Set dragonfly-cce:console\.nodeAddress/,
            ),
            expect.stringMatching(/^console\.rotatePassword is on but no node is configured .* \(root \/ dragonfly\)/),
        ]);
        expect(pulumiMessages("info", mark)).toEqual(["nodes is empty: no node's container runtime is configured"]);
    });

    test("creates exactly the expected resources", () => {
        const types = b.resources.map((r) => r.type).sort();
        expect(types).toEqual(
            [
                // The console password component: its generated password and the marker of what
                // the console got stay even with no node to rotate from (no command).
                "dragonfly:index:ConsolePassword",
                "random:index/randomId:RandomId",
                "random:index/randomPassword:RandomPassword",
                "dragonfly:index:ConsoleService",
                "dragonfly:index:DragonflyCce",
                "dragonfly:index:DragonflyRelease",
                "dragonfly:index:NodeFleet",
                "dragonfly:index:ProxyService",
                "kubernetes:core/v1:Namespace",
                "kubernetes:core/v1:Service",
                "kubernetes:core/v1:Service",
                "kubernetes:helm.sh/v3:Release",
                "random:index/randomPassword:RandomPassword",
                "random:index/randomPassword:RandomPassword",
                "random:index/randomPassword:RandomPassword",
                "random:index/randomPassword:RandomPassword",
            ].sort(),
        );
    });

    test("every child is parented under its component, components under the stack", () => {
        const byType = (t: string) => capturedOf(b, t);
        const release = byType("dragonfly:index:DragonflyRelease")[0].resource;
        expect(byType("dragonfly:index:DragonflyRelease")[0].parent).toBe(b.stack);
        expect(byType("dragonfly:index:ProxyService")[0].parent).toBe(b.stack);
        expect(byType("dragonfly:index:ConsoleService")[0].parent).toBe(b.stack);
        const consolePassword = byType("dragonfly:index:ConsolePassword")[0];
        expect(consolePassword.parent).toBe(b.stack);
        for (const t of [
            "kubernetes:core/v1:Namespace",
            "kubernetes:helm.sh/v3:Release",
            "random:index/randomPassword:RandomPassword",
            "random:index/randomId:RandomId",
        ]) {
            for (const c of byType(t)) {
                expect(c.parent).toBe(
                    c.name.startsWith("dragonfly-console-password-") ? consolePassword.resource : release,
                );
            }
        }
        const services = byType("kubernetes:core/v1:Service");
        expect(services.map((s) => s.parent)).toEqual([
            byType("dragonfly:index:ProxyService")[0].resource,
            byType("dragonfly:index:ConsoleService")[0].resource,
        ]);
    });

    test("order: namespace -> secrets -> release -> services", () => {
        const ns = capturedOf(b, "kubernetes:core/v1:Namespace")[0].resource;
        const passwords = capturedOf(b, "random:index/randomPassword:RandomPassword")
            .filter((c) => !c.name.startsWith("dragonfly-console-password-"))
            .map((c) => c.resource);
        expect(passwords).toHaveLength(4);
        const release = capturedOf(b, "kubernetes:helm.sh/v3:Release")[0];
        expect(release.dependsOn).toContain(ns);
        for (const p of passwords) {
            expect(release.dependsOn).toContain(p);
        }
        for (const svc of capturedOf(b, "kubernetes:core/v1:Service")) {
            expect(svc.dependsOn).toEqual([release.resource]);
        }
    });

    test("the namespace is created by the stack (destroy removes it and every PVC in it)", () => {
        expect(one(b, "kubernetes:core/v1:Namespace").inputs.metadata.name).toBe("dragonfly-system");
    });

    test("the Helm release is pinned, named explicitly, atomic, and carries the values", () => {
        const r = one(b, "kubernetes:helm.sh/v3:Release").inputs;
        expect(r.name).toBe("dragonfly");
        expect(r.chart).toBe("dragonfly");
        expect(r.version).toBe("1.7.4");
        expect(r.repositoryOpts).toEqual({ repo: "https://dragonflyoss.github.io/helm-charts/" });
        expect(r.namespace).toBe("dragonfly-system");
        expect(r.createNamespace).toBe(false);
        expect(r.atomic).toBe(true);
        expect(r.skipAwait).toBe(false);
        expect(r.waitForJobs).toBe(true);
        expect(r.cleanupOnFail).toBe(true);
        expect(r.timeout).toBe(900);
        expect(r.values.manager.nodeSelector).toEqual({ "cce.cloud.com/cce-nodepool": "test-dragonfly-nodepool" });
        expect(r.values.global.storageClass).toBe("csi-disk");
        // The generated secrets, not the chart's public defaults.
        expect(r.values.mysql.auth.rootPassword).toBe(mockPassword("dragonfly-mysql-root-password", 32));
        expect(r.values.redis.auth.password).toBe(mockPassword("dragonfly-redis-password", 32));
        expect(r.values.manager.config.auth.jwt.key).toBe(mockPassword("dragonfly-jwt-key", 48));
    });

    test("generated secrets are letters and digits of documented lengths (the console's also has specials)", () => {
        const pw = b.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
        expect(pw.map((p) => [p.name, p.inputs.length, p.inputs.special]).sort()).toEqual(
            [
                ["dragonfly-console-password-password", 20, true],
                ["dragonfly-jwt-key", 48, false],
                ["dragonfly-mysql-password", 32, false],
                ["dragonfly-mysql-root-password", 32, false],
                ["dragonfly-redis-password", 32, false],
            ].sort(),
        );
    });

    test("the proxy LoadBalancer selects the client pods on 4001, private ELB, Local policy", () => {
        const svc = b.resources.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "LoadBalancer",
        );
        expect(svc?.inputs).toEqual({
            apiVersion: "v1",
            kind: "Service",
            metadata: {
                name: "dragonfly-client-proxy",
                namespace: "dragonfly-system",
                labels: {
                    "app.kubernetes.io/managed-by": "pulumi",
                    "app.kubernetes.io/part-of": "dragonfly",
                    "app.kubernetes.io/instance": "dragonfly",
                },
                annotations: {
                    "kubernetes.io/elb.class": "union",
                    "kubernetes.io/elb.autocreate": '{"type":"inner"}',
                },
            },
            spec: {
                type: "LoadBalancer",
                selector: { app: "dragonfly", component: "client" },
                ports: [{ name: "http-proxy", protocol: "TCP", port: 4001, targetPort: 4001 }],
                externalTrafficPolicy: "Local",
            },
        });
    });

    test("the console NodePort selects the manager on 8080", () => {
        const svc = b.resources.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "NodePort",
        );
        expect(svc?.inputs.metadata.name).toBe("dragonfly-manager-console");
        expect(svc?.inputs.spec).toEqual({
            type: "NodePort",
            selector: { app: "dragonfly", component: "manager" },
            ports: [{ name: "http-console", protocol: "TCP", port: 8080, targetPort: 8080 }],
        });
    });

    test("outputs resolve to the expected strings", async () => {
        expect(await resolve(b.stack.proxyAddress)).toBe(`${MOCK_LB_IP}:4001`);
        expect(await resolve(b.stack.proxyUrl)).toBe(`http://${MOCK_LB_IP}:4001`);
        expect(await resolve(b.stack.namespace)).toBe("dragonfly-system");
        expect(await resolve(b.stack.releaseName)).toBe("dragonfly");
        expect(await resolve(b.stack.chartVersion)).toBe("1.7.4");
        expect(await resolve(b.stack.releaseStatus)).toBe("deployed");
        expect(await resolve(b.stack.consoleNodePort)).toBe(MOCK_NODE_PORT);
        // No node address known: no made-up URL.
        expect(await resolve(b.stack.consoleUrl)).toBeUndefined();
    });
});

describe("DragonflyCce variants", () => {
    test("fixed addresses, node port, existing ELB, source ranges, annotations", async () => {
        const mark = logMark();
        const b = await build(
            {
                proxy: {
                    address: "192.168.0.200",
                    loadBalancer: {
                        elbId: "5083f225-9bf8-48fa-9c8b-67bd9693c4c0",
                        elbClass: "performance",
                        sourceRanges: ["192.168.0.0/16"],
                        externalTrafficPolicy: "Cluster",
                        annotations: { "kubernetes.io/elb.health-check-flag": "on" },
                    },
                },
                console: { nodePort: 30080, nodeAddress: "192.168.0.10" },
            },
            "variant",
        );
        const lb = b.resources.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "LoadBalancer",
        );
        expect(lb?.inputs.metadata.annotations).toEqual({
            "kubernetes.io/elb.class": "performance",
            "kubernetes.io/elb.id": "5083f225-9bf8-48fa-9c8b-67bd9693c4c0",
            "kubernetes.io/elb.health-check-flag": "on",
        });
        expect(lb?.inputs.spec.loadBalancerSourceRanges).toEqual(["192.168.0.0/16"]);
        expect(lb?.inputs.spec.externalTrafficPolicy).toBe("Cluster");
        const np = b.resources.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "NodePort",
        );
        expect(np?.inputs.spec.ports[0].nodePort).toBe(30080);
        expect(await resolve(b.stack.proxyAddress)).toBe("192.168.0.200:4001");
        expect(await resolve(b.stack.consoleUrl)).toBe("http://192.168.0.10:30080");
        // A node address is known: no warning about the console URL.
        expect(pulumiWarnings(mark).filter((w) => w.includes("consoleUrl"))).toEqual([]);
    });

    test("a local chart path installs from the path, without repository", async () => {
        const b = await build({ chart: { path: "./dragonfly" } }, "local-chart");
        const r = one(b, "kubernetes:helm.sh/v3:Release").inputs;
        expect(r.chart).toBe("./dragonfly");
        expect(r.repositoryOpts).toBeUndefined();
        expect(r.version).toBeUndefined();
    });

    test("releaseSkipAwait installs without Helm's wait, and so without atomic (which implies it)", async () => {
        const b = await build({ releaseSkipAwait: true }, "skip-await");
        const r = one(b, "kubernetes:helm.sh/v3:Release").inputs;
        expect({ skipAwait: r.skipAwait, atomic: r.atomic, waitForJobs: r.waitForJobs }).toEqual({
            skipAwait: true,
            atomic: false,
            waitForJobs: false,
        });
        expect(r.cleanupOnFail).toBe(true);
    });

    test("kubeconfig and context make an explicit, secret provider", async () => {
        const b = await build({ kubeconfig: "apiVersion: v1\nkind: Config\n", kubeContext: "cce" }, "with-provider");
        const p = one(b, "pulumi:providers:kubernetes");
        expect(p.inputs.context).toBe("cce");
        expect(p.secretPaths).toContain("kubeconfig");
        const captured = capturedOf(b, "pulumi:providers:kubernetes")[0];
        expect(await pulumi.isSecret(captured.props.kubeconfig)).toBe(true);
    });

    test("proxy basic auth adds a fifth generated secret and exposes user:password as a secret", async () => {
        const b = await build({ proxy: { basicAuth: true } }, "auth");
        const pw = b.resources
            .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
            .map((r) => r.name);
        expect(pw).toContain("auth-proxy-password");
        const r = one(b, "kubernetes:helm.sh/v3:Release").inputs;
        expect(r.values.client.config.proxy.server.basicAuth.username).toBe("dragonfly");
        expect(r.values.client.config.proxy.server.basicAuth.password).toBe(mockPassword("auth-proxy-password", 24));
    });

    test("proxy.ca: a Secret the release waits for holds the CA, its key secret on the wire and nowhere else", async () => {
        const { ca, otherCa } = testCertificates();
        const b = await build(
            {
                releaseName: "p2p",
                proxy: {
                    ca: { certificate: ca.certificate, key: ca.key, alsoTrust: [otherCa.certificate] },
                },
            },
            "ca",
        );
        const secret = one(b, "kubernetes:core/v1:Secret");
        expect(secret.inputs.metadata).toEqual({
            name: "p2p-dragonfly-proxy-ca",
            namespace: "dragonfly-system",
            labels: {
                "app.kubernetes.io/managed-by": "pulumi",
                "app.kubernetes.io/part-of": "dragonfly",
                "app.kubernetes.io/instance": "p2p",
            },
        });
        expect(secret.inputs.type).toBe("Opaque");
        expect(secret.inputs.stringData).toEqual({ "ca.crt": ca.certificate, "ca.key": ca.key });
        // The SDK makes the whole stringData secret (data and stringData are secret outputs too).
        expect(secret.secretPaths).toEqual(["stringData"]);
        const release = capturedOf(b, "kubernetes:helm.sh/v3:Release")[0];
        expect(release.dependsOn).toContain(capturedOf(b, "kubernetes:core/v1:Secret")[0].resource);
        const values = one(b, "kubernetes:helm.sh/v3:Release").inputs.values;
        expect(values.client.extraVolumes[2].secret.secretName).toBe("p2p-dragonfly-proxy-ca");
        const keyLine = ca.key.split("\n")[1];
        for (const r of b.resources.filter((x) => x.type !== "kubernetes:core/v1:Secret")) {
            expect(JSON.stringify(r.inputs)).not.toContain(keyLine);
        }
        // The certificates to trust (never the key) are an output for consumer stacks: the
        // signing CA, then alsoTrust; the client pods get the signing CA alone.
        expect(await resolve(b.stack.proxyCaCertificate)).toBe(ca.certificate + otherCa.certificate);
        expect(await pulumi.isSecret(b.stack.proxyCaCertificate)).toBe(false);
        // Without proxy.ca there is no Secret of ours.
        expect(b.resources.filter((r) => r.type === "kubernetes:core/v1:Secret")).toHaveLength(1);
        const plain = await build({}, "no-ca");
        expect(plain.resources.filter((r) => r.type === "kubernetes:core/v1:Secret")).toHaveLength(0);
    });

    test("only the generated secrets inside the release's values are secret, field by field", async () => {
        const b = await build({ proxy: { basicAuth: true } }, "secret-values");
        const release = capturedOf(b, "kubernetes:helm.sh/v3:Release")[0];
        for (const leaf of [
            release.props.values.mysql.auth.rootPassword,
            release.props.values.mysql.auth.password,
            release.props.values.redis.auth.password,
            release.props.values.manager.config.auth.jwt.key,
            release.props.values.client.config.proxy.server.basicAuth.password,
        ]) {
            expect(await pulumi.isSecret(leaf)).toBe(true);
        }
        // What the engine (and so the state file and the preview) receives: exactly these paths
        // are secret, not the whole property.
        expect(one(b, "kubernetes:helm.sh/v3:Release").secretPaths.sort()).toEqual([
            "values.client.config.proxy.server.basicAuth.password",
            "values.manager.config.auth.jwt.key",
            "values.mysql.auth.password",
            "values.mysql.auth.rootPassword",
            "values.redis.auth.password",
        ]);
        // The resource options mark no whole output secret either.
        expect(release.additionalSecretOutputs).toEqual([]);
    });

    test("a changed replica count or nodeSelector is visible in plain in the release's values", async () => {
        const before = plainInputs(one(await build({}, "replicas-before"), "kubernetes:helm.sh/v3:Release"));
        const after = plainInputs(
            one(
                await build({ nodePool: "other-pool", helmValues: { scheduler: { replicas: 3 } } }, "replicas-after"),
                "kubernetes:helm.sh/v3:Release",
            ),
        );
        expect(before.values.scheduler.replicas).toBeUndefined();
        expect(after.values.scheduler.replicas).toBe(3);
        expect(before.values.scheduler.nodeSelector).toEqual({
            "cce.cloud.com/cce-nodepool": "test-dragonfly-nodepool",
        });
        expect(after.values.scheduler.nodeSelector).toEqual({ "cce.cloud.com/cce-nodepool": "other-pool" });
        // The secret leaves are not in the plain view at all.
        expect(after.values.mysql.auth).toEqual({});
        expect(JSON.stringify(after)).not.toContain(mockPassword("replicas-after-mysql-password", 32));
    });

    test("the release runs the stack's Helm post-renderer (config files in Secrets, not ConfigMaps)", async () => {
        const b = await build({}, "postrender");
        const r = one(b, "kubernetes:helm.sh/v3:Release").inputs;
        // Relative to the working directory (the project's, where the provider runs Helm), so the
        // input is the same on every checkout and a preview shows no change.
        expect(r.postrender).toBe(path.join("lib", "cluster", "helmPostRender.js"));
        const file = path.resolve(process.cwd(), r.postrender);
        expect(fs.statSync(file).mode & 0o111).toBe(0o111);
        expect(fs.readFileSync(file, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    });

    test("the proxy credentials are a secret of the form user:password", async () => {
        const b = await build({ proxy: { basicAuth: true } }, "cred");
        const rel = capturedOf(b, "dragonfly:index:DragonflyRelease")[0].resource as any;
        expect(await pulumi.isSecret(rel.proxyCredentials)).toBe(true);
        expect(await resolve(rel.proxyCredentials)).toBe(`dragonfly:${mockPassword("cred-proxy-password", 24)}`);
    });

    test("the same config gives identical inputs (no churn in previews)", async () => {
        const a = await build({ proxy: { basicAuth: true } }, "same");
        const c = await build({ proxy: { basicAuth: true } }, "same");
        expect(JSON.stringify(c.resources.map((r) => [r.type, r.name, r.inputs]))).toBe(
            JSON.stringify(a.resources.map((r) => [r.type, r.name, r.inputs])),
        );
    });
});
