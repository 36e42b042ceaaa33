/**
 * index.ts as `pulumi up` runs it: reads the stack config, builds the stack, exports outputs.
 * Config reaches it the way the CLI passes it (text values, structured ones as JSON).
 */
import * as pulumi from "@pulumi/pulumi";

import {
    freshProgram,
    MOCK_LB_IP,
    mockPassword,
    plainInputs,
    recordResources,
    Registered,
    resolve,
    setStackOutputs,
    waitFor,
} from "../helpers/mockEngine";
import { loadStackConfig } from "../../lib/config/pulumi";
import { logMark, pulumiWarnings } from "../helpers/pulumiLog";

const registered = recordResources({ preview: true });

function runProgram(config: Record<string, string>, secretKeys: string[] = []): Record<string, any> {
    pulumi.runtime.setAllConfig(config, secretKeys);
    const exports: Record<string, any> = freshProgram(() => require("../../index"));
    return exports;
}

describe("index.ts", () => {
    test("exports every documented output from a config like Pulumi.dev.yaml's", async () => {
        const out = runProgram({
            "dragonfly-cce:nodePool": "test-dragonfly-nodepool",
            "dragonfly-cce:storageClass": "csi-disk",
            "dragonfly-cce:proxy": JSON.stringify({ loadBalancer: { sourceRanges: ["192.168.0.0/16"] } }),
            "dragonfly-cce:console": JSON.stringify({ nodeAddress: "192.168.0.10", nodePort: 30080 }),
        });
        expect(Object.keys(out).sort()).toEqual(
            [
                "agentNodes",
                "chartVersion",
                "configuredNodes",
                "consoleCredentials",
                "consoleNodePort",
                "consoleUrl",
                "namespace",
                "noProxy",
                "proxyAddress",
                "proxyCaCertificate",
                "proxyUrl",
                "releaseName",
                "releaseStatus",
                "verification",
            ].sort(),
        );
        expect(await resolve(out.proxyAddress)).toBe(`${MOCK_LB_IP}:4001`);
        expect(await resolve(out.proxyUrl)).toBe(`http://${MOCK_LB_IP}:4001`);
        expect(await resolve(out.consoleUrl)).toBe("http://192.168.0.10:30080");
        expect(await resolve(out.namespace)).toBe("dragonfly-system");
        expect(await resolve(out.releaseName)).toBe("dragonfly");
        expect(await resolve(out.chartVersion)).toBe("1.7.4");
        expect(await resolve(out.releaseStatus)).toBe("deployed");
        expect(await resolve(out.proxyCaCertificate)).toBeUndefined();
        const lb = registered.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.spec.type === "LoadBalancer",
        );
        expect(lb?.inputs.spec.loadBalancerSourceRanges).toEqual(["192.168.0.0/16"]);
    });

    test("a node pool name that looks like a number stays a string", async () => {
        const before = registered.length;
        const out = runProgram({ "dragonfly-cce:nodePool": "123" });
        await resolve(out.releaseStatus);
        const release = registered.slice(before).find((r) => r.type === "kubernetes:helm.sh/v3:Release");
        expect(release?.inputs.values.manager.nodeSelector).toEqual({ "cce.cloud.com/cce-nodepool": "123" });
    });

    test("bad config fails the program before any resource is registered", () => {
        const before = registered.length;
        expect(() =>
            runProgram({ "dragonfly-cce:nodePool": "p", "dragonfly-cce:console": JSON.stringify({ nodePort: 80 }) }),
        ).toThrow("Invalid config dragonfly-cce:console.nodePort: got 80; allowed: an integer from 30000 to 32767");
        expect(registered.length).toBe(before);
        expect(() => runProgram({})).toThrow(/dragonfly-cce:nodePool: got nothing/);
    });

    describe("secret helmValues (pulumi config set --secret [--path] dragonfly-cce:helmValues...)", () => {
        /** Runs index.ts and returns every resource it registered, once the release is in. */
        async function run(config: Record<string, string>, secretKeys: string[]): Promise<Registered[]> {
            const before = registered.length;
            const out = runProgram({ "dragonfly-cce:nodePool": "p", ...config }, secretKeys);
            await resolve(out.releaseStatus);
            return registered.slice(before);
        }
        const release = (rs: Registered[]) => rs.find((r) => r.type === "kubernetes:helm.sh/v3:Release")!;
        /** What a reader of the state file or the preview diff sees, across every resource. */
        const plainText = (rs: Registered[]) => JSON.stringify(rs.map(plainInputs));
        const GENERATED = [
            "values.manager.config.auth.jwt.key",
            "values.mysql.auth.password",
            "values.mysql.auth.rootPassword",
            "values.redis.auth.password",
        ];
        // What `pulumi config set --secret --path 'dragonfly-cce:helmValues.externalMysql.password'`
        // and friends give the program: the whole key's JSON, the key listed as secret.
        const USER = {
            mysql: { enable: false },
            externalMysql: { host: "rds.internal", username: "df", password: "ExtMysql-Pw-1" },
            externalRedis: { addrs: ["redis.internal:6379"], password: "ExtRedis-Pw-2", sentinelPassword: "Sent-Pw-3" },
            manager: { replicas: 2, image: { tag: "v2.5.1" }, config: { auth: { jwt: { key: "My-Jwt-Key-4" } } } },
            scheduler: { extraEnvVars: [{ name: "TOKEN", value: "Env-Token-5" }] },
            client: { config: { proxy: { server: { basicAuth: { username: "u", password: "Basic-Pw-6" } } } } },
            seedClient: { config: { host: { idc: "Unknown-Str-7" } } },
        };
        const USER_SECRETS = [
            "ExtMysql-Pw-1",
            "ExtRedis-Pw-2",
            "Sent-Pw-3",
            "My-Jwt-Key-4",
            "Env-Token-5",
            "Basic-Pw-6",
            "Unknown-Str-7",
        ];

        test("every string leaf of a secret helmValues reaches the release as a secret, except plainly harmless ones", async () => {
            const mark = logMark();
            const rs = await run({ "dragonfly-cce:helmValues": JSON.stringify(USER) }, ["dragonfly-cce:helmValues"]);
            const r = release(rs);
            expect(pulumiWarnings(mark).filter((w) => w.startsWith("helmValues"))).toEqual([]);
            // The values themselves reach Helm unchanged.
            expect(r.inputs.values.externalMysql.password).toBe("ExtMysql-Pw-1");
            expect(r.inputs.values.manager.config.auth.jwt.key).toBe("My-Jwt-Key-4");
            expect(r.secretPaths).toEqual(
                expect.arrayContaining([
                    ...GENERATED.filter((p) => p !== "values.manager.config.auth.jwt.key"),
                    "values.externalMysql.password",
                    "values.externalMysql.host",
                    "values.externalMysql.username",
                    "values.externalRedis.addrs.0",
                    "values.externalRedis.password",
                    "values.externalRedis.sentinelPassword",
                    "values.manager.config.auth.jwt.key",
                    "values.scheduler.extraEnvVars.0.name",
                    "values.scheduler.extraEnvVars.0.value",
                    "values.client.config.proxy.server.basicAuth.username",
                    "values.client.config.proxy.server.basicAuth.password",
                    "values.seedClient.config.host.idc",
                ]),
            );
            const plain = plainText(rs);
            for (const s of USER_SECRETS) {
                expect(plain).not.toContain(s);
            }
            // Readable in the diff: what the program generates, and booleans, numbers, image
            // and placement settings of the secret object.
            const view = plainInputs(r);
            expect(view.values.mysql.enable).toBe(false);
            expect(view.values.manager.replicas).toBe(2);
            expect(view.values.manager.image.tag).toBe("v2.5.1");
            expect(view.values.manager.nodeSelector).toEqual({ "cce.cloud.com/cce-nodepool": "p" });
            expect(view.values.global.storageClass).toBe("csi-disk");
        });

        test("credential paths are secret even when helmValues is plain config; other leaves stay readable", async () => {
            const mark = logMark();
            const rs = await run({ "dragonfly-cce:helmValues": JSON.stringify(USER) }, []);
            const r = release(rs);
            // The stack file holds them in clear text: the preview says which paths, never the values.
            const warnings = pulumiWarnings(mark).filter((w) => w.startsWith("helmValues"));
            expect(warnings).toEqual([
                "helmValues holds credentials in plain config (Pulumi.<stack>.yaml shows them in clear text): " +
                    "client.config.proxy.server.basicAuth.password, externalMysql.password, externalRedis.password, " +
                    "externalRedis.sentinelPassword, manager.config.auth.jwt.key, scheduler.extraEnvVars.0.value. " +
                    "They are secrets in the state and the preview; set each with " +
                    "`pulumi config set --secret --path 'dragonfly-cce:helmValues.<path>'`.",
            ]);
            expect(warnings.join()).not.toMatch(/Pw-|Key-4|Token-5/);
            expect(r.secretPaths.sort()).toEqual(
                [
                    "values.client.config.proxy.server.basicAuth.password",
                    "values.externalMysql.password",
                    "values.externalRedis.password",
                    "values.externalRedis.sentinelPassword",
                    "values.manager.config.auth.jwt.key",
                    "values.mysql.auth.password",
                    "values.mysql.auth.rootPassword",
                    "values.redis.auth.password",
                    "values.scheduler.extraEnvVars.0.value",
                ].sort(),
            );
            const view = plainInputs(r);
            expect(view.values.externalMysql).toEqual({ host: "rds.internal", username: "df" });
            expect(view.values.seedClient.config.host.idc).toBe("Unknown-Str-7");
            expect(view.values.scheduler.extraEnvVars).toEqual([{ name: "TOKEN" }]);
        });

        test("an override of a generated secret stays a secret, in plain config or secret", async () => {
            for (const secretKeys of [[], ["dragonfly-cce:helmValues"]]) {
                const rs = await run(
                    {
                        "dragonfly-cce:proxy": JSON.stringify({ basicAuth: true }),
                        "dragonfly-cce:helmValues": JSON.stringify({
                            mysql: { auth: { rootPassword: "Root-Over-1", password: "User-Over-2" } },
                            redis: { auth: { password: "Redis-Over-3" } },
                            client: { config: { proxy: { server: { basicAuth: { password: "Proxy-Over-4" } } } } },
                        }),
                    },
                    secretKeys,
                );
                const r = release(rs);
                expect(r.inputs.values.mysql.auth.rootPassword).toBe("Root-Over-1");
                expect(r.secretPaths).toEqual(
                    expect.arrayContaining([...GENERATED, "values.client.config.proxy.server.basicAuth.password"]),
                );
                const plain = plainText(rs);
                for (const s of ["Root-Over-1", "User-Over-2", "Redis-Over-3", "Proxy-Over-4"]) {
                    expect(plain).not.toContain(s);
                }
                expect(plain).not.toContain(mockPassword("dragonfly-jwt-key", 48));
            }
        });

        test("without helmValues, only the generated secrets are secret", async () => {
            const rs = await run({}, ["dragonfly-cce:kubeconfig"]);
            expect(release(rs).secretPaths.sort()).toEqual(GENERATED);
        });
    });

    describe("nodesFromStack", () => {
        const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";
        const base = {
            "dragonfly-cce:nodePool": "p",
            "dragonfly-cce:ssh": JSON.stringify({ privateKey: KEY }),
            "dragonfly-cce:registries": JSON.stringify(["swr.cn-north-4.myhuaweicloud.com"]),
            "dragonfly-cce:nodes": JSON.stringify([{ name: "edge", host: "192.168.1.5" }]),
            "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "my-org/cce-nodes/dev", output: "nodeIps" }),
        };

        test("nodes listed by another stack's output are configured after the stack's own", async () => {
            setStackOutputs("my-org/cce-nodes/dev", {
                nodeIps: ["192.168.0.21", { host: "192.168.0.22", name: "pool-b", runtime: "docker" }],
            });
            const before = registered.length;
            const out = runProgram(base);
            expect(await resolve(out.configuredNodes)).toEqual(["edge", "192.168.0.21", "pool-b"]);
            const isRuntime = (r: { type: string; name: string }) =>
                r.type === "command:remote:Command" && r.name.endsWith("-runtime");
            await waitFor(() => registered.slice(before).filter(isRuntime).length === 3);
            const mine = registered.slice(before);
            expect(mine.find((r) => r.type === "pulumi:pulumi:StackReference")?.inputs.name).toBe(
                "my-org/cce-nodes/dev",
            );
            const runtimes = mine.filter(isRuntime);
            expect(runtimes.map((r) => r.inputs.connection.host)).toEqual([
                "192.168.1.5",
                "192.168.0.21",
                "192.168.0.22",
            ]);
            expect(runtimes[2].inputs.create).toContain("docker");
        });

        test("a bad entry in the other stack's output is named by its source and index", async () => {
            setStackOutputs("my-org/cce-nodes/dev", { nodeIps: ["192.168.0.21", "not a host!"] });
            pulumi.runtime.setAllConfig(base);
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(
                'Invalid config dragonfly-cce:nodesFromStack (output nodeIps of my-org/cce-nodes/dev)[1].host: got "not a host!"',
            );
        });

        test("a missing output or a non-list is refused", async () => {
            setStackOutputs("my-org/cce-nodes/dev", { other: [] });
            pulumi.runtime.setAllConfig(base);
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(
                /dragonfly-cce:nodesFromStack.output: got "nodeIps"; allowed: an output that stack my-org\/cce-nodes\/dev exports/,
            );
            setStackOutputs("my-org/cce-nodes/dev", { nodeIps: "192.168.0.21" });
            await expect(Promise.resolve(loadStackConfig())).rejects.toThrow(/allowed: a list of node hosts/);
        });

        test("a malformed nodesFromStack fails at once, before any resource", () => {
            const before = registered.length;
            expect(() =>
                runProgram({
                    ...base,
                    "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "a/b/c/d", output: "x" }),
                }),
            ).toThrow(/dragonfly-cce:nodesFromStack.stack: got "a\/b\/c\/d"/);
            expect(() =>
                runProgram({ ...base, "dragonfly-cce:nodesFromStack": JSON.stringify({ stack: "a", outptu: "x" }) }),
            ).toThrow(/dragonfly-cce:nodesFromStack.outptu: got "x"; allowed: no such key/);
            expect(registered.length).toBe(before);
        });
    });
});
