/**
 * `npm run render`: the files match what the stack itself would apply (same functions, same
 * inputs), secrets stay out of the reviewable files, and Pulumi.dev.yaml is a valid stack config.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

import { MOCK_LB_IP, recordResources, resolve } from "../helpers/mockEngine";
import { tsNodeArgs } from "../helpers/children";

const registered = recordResources();

import { DragonflyCce } from "../../components/dragonflyCce";
import { buildHelmValues } from "../../lib/cluster/helmValues";
import { remoteCommand } from "../../lib/remote/shell";
import { configFromStackFile, stackConfigFromFile } from "../../lib/config/stackFile";
import { renderStack, UNKNOWN_PROXY_HOST } from "../../lib/render";
import { parseStackConfig } from "../../lib/config";
import {
    agentConfigHash,
    agentScripts,
    daemonSetManifest,
    roleBindingManifest,
    roleManifest,
    serviceAccountManifest,
    statusConfigMapManifest,
} from "../../lib/agent";
import { ConfigError } from "../../lib/config/validate";
import { testCertificates } from "../helpers/testCa";

const ROOT = path.resolve(__dirname, "../..");
const DEV = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");

function file(files: ReturnType<typeof renderStack>, p: string) {
    const f = files.find((x) => x.path === p);
    expect(f).toBeDefined();
    return f as ReturnType<typeof renderStack>[number];
}

describe("render", () => {
    const cfg = stackConfigFromFile(DEV);
    const files = renderStack(cfg, { proxyHost: MOCK_LB_IP });

    test("Pulumi.dev.yaml is a complete, valid stack config for the seed's cluster", () => {
        expect(cfg.core.nodePool).toBe("test-dragonfly-nodepool");
        expect(cfg.core.storageClass).toBe("csi-disk");
        expect(cfg.nodes.nodes.map((n) => n.name)).toEqual(["node-1", "node-2"]);
        expect(cfg.verify?.image).toBe("test-uvpv1j.swr-pro.myhuaweicloud.com/library/busybox:latest");
    });

    test("values.yaml is the stack's Helm values without the secrets; the secrets file has them all", () => {
        const plain = parse(file(files, "values.yaml").content);
        const secretsFile = file(files, "values.secrets.yaml");
        const secrets = parse(secretsFile.content);
        expect(secretsFile.mode).toBe(0o600);
        const expected = buildHelmValues(cfg.core, {
            mysqlRootPassword: secrets.mysql.auth.rootPassword,
            mysqlPassword: secrets.mysql.auth.password,
            redisPassword: secrets.redis.auth.password,
            jwtKey: secrets.manager.config.auth.jwt.key,
        }) as any;
        // Put the secrets back into the plain values: the result is exactly the stack's values.
        plain.mysql.auth = { ...plain.mysql.auth, ...secrets.mysql.auth };
        plain.redis.auth = { ...plain.redis.auth, ...secrets.redis.auth };
        plain.manager.config = { auth: { jwt: { key: secrets.manager.config.auth.jwt.key } } };
        expect(plain).toEqual(JSON.parse(JSON.stringify(expected)));
        expect(secrets.mysql.auth.rootPassword).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(secrets.manager.config.auth.jwt.key).toMatch(/^[A-Za-z0-9]{48}$/);
        const reviewable = files
            .filter((f) => f.mode !== 0o600)
            .map((f) => f.content)
            .join("\n");
        for (const s of [secrets.mysql.auth.rootPassword, secrets.mysql.auth.password, secrets.redis.auth.password]) {
            expect(reviewable).not.toContain(s);
        }
    });

    test("credentials given in helmValues go to values.secrets.yaml with the user's value, not to values.yaml", () => {
        const withCreds = parseStackConfig({
            nodePool: "p",
            helmValues: {
                mysql: { enable: false, auth: { rootPassword: "Root-Given-1" } },
                externalMysql: { host: "rds.internal", password: "Ext-Given-2" },
                manager: {
                    extraEnvVars: [
                        { name: "A", value: "plain" },
                        { name: "TOKEN", value: "Env-Given-3" },
                    ],
                },
            },
        });
        const rendered = renderStack(withCreds, { proxyHost: MOCK_LB_IP });
        const plain = parse(file(rendered, "values.yaml").content);
        const secrets = parse(file(rendered, "values.secrets.yaml").content);
        expect(file(rendered, "values.yaml").content).not.toMatch(/Root-Given-1|Ext-Given-2|Env-Given-3/);
        // A list replaces a list whole in Helm: one with a secret goes whole to the secrets file.
        expect(plain.manager.extraEnvVars).toBeUndefined();
        expect(secrets.manager.extraEnvVars).toEqual([
            { name: "A", value: "plain" },
            { name: "TOKEN", value: "Env-Given-3" },
        ]);
        expect(plain.externalMysql).toEqual({ host: "rds.internal" });
        expect(plain.mysql.enable).toBe(false);
        expect(secrets.mysql.auth.rootPassword).toBe("Root-Given-1");
        expect(secrets.externalMysql.password).toBe("Ext-Given-2");
        expect(secrets.mysql.auth.password).toMatch(/^[A-Za-z0-9]{32}$/);
    });

    test("node scripts are byte for byte the commands the stack runs on each node", async () => {
        const before = registered.length;
        const stack = new DragonflyCce("render", cfg);
        await resolve(pulumi.all([stack.configuredNodes, stack.proxyUrl, stack.verification]));
        const commands = registered.slice(before).filter((r) => r.name.endsWith("-runtime"));
        expect(commands.map((c) => c.name)).toEqual(["render-nodes-node-1-runtime", "render-nodes-node-2-runtime"]);
        for (const c of commands) {
            const node = c.name.replace(/^render-nodes-/, "").replace(/-runtime$/, "");
            expect(c.inputs.create).toBe(remoteCommand(file(files, `nodes/${node}/apply.sh`).content, { sudo: false }));
            expect(c.inputs.delete).toBe(
                remoteCommand(file(files, `nodes/${node}/restore.sh`).content, { sudo: false }),
            );
        }
    });

    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey\n-----END OPENSSH PRIVATE KEY-----\n";
    const variants: Array<[string, Record<string, unknown>, string[]]> = [
        [
            "basic auth; a non-root user; a Docker node",
            {
                proxy: { basicAuth: true },
                nodes: [
                    { host: "192.168.0.10", name: "c1" },
                    { host: "192.168.0.11", name: "d1", user: "ops", runtime: "docker" },
                ],
            },
            ["PROXY_AUTH=yes", "RUNTIME=docker", `ENDPOINT='http://${MOCK_LB_IP}:4001'`],
        ],
        [
            "mirror mode through the node's own client on a non-default proxy.port",
            {
                proxy: { port: 4101 },
                runtimeMode: "mirror",
                mirrorEndpoint: "local",
                nodes: [{ host: "192.168.0.10", name: "m1", user: "ops" }],
            },
            ["MODE=mirror", "ENDPOINT='http://127.0.0.1:4101'"],
        ],
    ];
    test.each(variants)("%s: node scripts are byte for byte the stack's commands", async (_name, extra, expected) => {
        const c = parseStackConfig({
            nodePool: "pool",
            ssh: { privateKey: KEY },
            registries: ["swr.cn-north-4.myhuaweicloud.com"],
            ...extra,
        });
        const rendered = renderStack(c, { proxyHost: MOCK_LB_IP });
        const before = registered.length;
        const name = `variant-${c.nodes.nodes[0].name}`;
        const stack = new DragonflyCce(name, c);
        await resolve(pulumi.all([...stack.fleet.nodes.values()].map(({ runtime }) => runtime.command.urn)));
        const commands = registered.slice(before).filter((r) => r.name.endsWith("-runtime"));
        expect(commands).toHaveLength(c.nodes.nodes.length);
        const applied = c.nodes.nodes.map((n) => file(rendered, `nodes/${n.name}/apply.sh`).content).join("\n");
        for (const text of expected) {
            expect(applied).toContain(text);
        }
        for (const node of c.nodes.nodes) {
            const cmd = commands.find((r) => r.name === `${name}-nodes-${node.name}-runtime`);
            const sudo = node.user !== "root";
            expect(cmd?.inputs.create).toBe(
                remoteCommand(file(rendered, `nodes/${node.name}/apply.sh`).content, { sudo }),
            );
            expect(cmd?.inputs.delete).toBe(
                remoteCommand(file(rendered, `nodes/${node.name}/restore.sh`).content, { sudo }),
            );
        }
    });

    test("the namespace manifest is the one the stack creates", async () => {
        const before = registered.length;
        const stack = new DragonflyCce("ns", cfg);
        await resolve(stack.namespace);
        const ns = registered.slice(before).find((r) => r.type === "kubernetes:core/v1:Namespace");
        const manifest = parse(file(files, "namespace.yaml").content);
        expect(manifest.kind).toBe("Namespace");
        expect(ns?.inputs.metadata).toEqual(manifest.metadata);
    });

    test("the Service manifests are the ones the stack creates", () => {
        const proxy = parse(file(files, "proxy-service.yaml").content);
        expect(proxy.spec.type).toBe("LoadBalancer");
        expect(proxy.spec.selector).toEqual({ app: "dragonfly", component: "client" });
        expect(proxy.spec.loadBalancerSourceRanges).toEqual(["192.168.0.0/16"]);
        const consoleSvc = parse(file(files, "console-service.yaml").content);
        expect(consoleSvc.spec.ports[0].nodePort).toBe(30080);
    });

    test("without a known proxy address the scripts name a reserved placeholder host, and README says so", () => {
        const f = renderStack(cfg);
        expect(file(f, "nodes/node-1/apply.sh").content).toContain(`http://${UNKNOWN_PROXY_HOST}:4001`);
        expect(file(f, "README.txt").content).toContain("--proxy-address");
    });

    test("secure values are never rendered; unknown keys are config errors", () => {
        const raw = configFromStackFile(
            "config:\n  dragonfly-cce:nodePool: p\n  dragonfly-cce:kubeconfig:\n    secure: v1:abc\n  other:key: 1\n",
        );
        expect(raw).toEqual({ nodePool: "p" });
        expect(() => configFromStackFile("config:\n  dragonfly-cce:nodepool: p\n")).toThrow(ConfigError);
    });

    test("proxy.ca with a secure key renders: the nodes trust the certificate, README says which Secret to create", () => {
        const { ca, otherCa } = testCertificates();
        const block = (cert: string, indent: string) =>
            cert
                .trimEnd()
                .split("\n")
                .map((l) => `${indent}${l}`)
                .join("\n");
        const text =
            "config:\n  dragonfly-cce:nodePool: p\n  dragonfly-cce:registries: [swr.cn-north-4.myhuaweicloud.com]\n" +
            "  dragonfly-cce:nodes: [{host: 192.168.0.10, name: n1}]\n" +
            `  dragonfly-cce:proxy:\n    ca:\n      certificate: |\n${block(ca.certificate, "        ")}\n` +
            `      alsoTrust:\n        - |\n${block(otherCa.certificate, "          ")}\n` +
            "      key:\n        secure: v1:abc\n";
        const rendered = renderStack(stackConfigFromFile(text), { proxyHost: MOCK_LB_IP });
        const apply = file(rendered, "nodes/n1/apply.sh").content;
        // The nodes trust the signing CA and the previous one.
        expect(apply).toContain(`PROXY_CA=$(cat <<'PEM'\n${ca.certificate}${otherCa.certificate}PEM\n)`);
        const values = parse(file(rendered, "values.yaml").content);
        expect(values.client.config.proxy.server.caCert).toBe("/etc/dragonfly-cce/proxy-ca/ca.crt");
        expect(file(rendered, "README.txt").content).toContain(
            "kubectl -n dragonfly-system create secret generic dragonfly-proxy-ca \\\n    --from-file=ca.crt=",
        );
        for (const f of rendered) {
            expect(f.content).not.toContain("not rendered");
        }
    });

    test("nodeAgent.enabled: the agent's objects as lib/agent makes them, and the namespace's Pod Security label", () => {
        const text =
            "config:\n  dragonfly-cce:nodePool: p\n  dragonfly-cce:registries: [swr.cn-north-4.myhuaweicloud.com]\n" +
            "  dragonfly-cce:proxy: {basicAuth: true}\n  dragonfly-cce:nodeAgent: {enabled: true}\n";
        const agentCfg = stackConfigFromFile(text);
        const rendered = renderStack(agentCfg, { proxyHost: MOCK_LB_IP });
        const ns = parse(file(rendered, "namespace.yaml").content);
        expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
        expect(ns.metadata.annotations["dragonfly-cce/pod-security-reason"]).toMatch(/dragonfly-node-agent/);
        // Without the agent, neither.
        const plainNs = parse(file(files, "namespace.yaml").content);
        expect(plainNs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBeUndefined();
        expect(plainNs.metadata.annotations).toBeUndefined();
        expect(files.some((f) => f.path.startsWith("agent/"))).toBe(false);

        const stack = { core: agentCfg.core, nodes: agentCfg.nodes, nodeAgent: agentCfg.nodeAgent };
        const scripts = agentScripts(stack, `http://${MOCK_LB_IP}:4001`);
        const hash = agentConfigHash(scripts);
        const docs = file(rendered, "agent/agent.yaml")
            .content.split(/^---$/m)
            .map((d) => parse(d));
        expect(docs).toEqual([
            serviceAccountManifest(stack),
            roleManifest(stack),
            roleBindingManifest(stack),
            statusConfigMapManifest(stack),
            daemonSetManifest(stack, hash),
        ]);
        expect(docs[4].spec.template.spec.containers[0].image).toBe("docker.io/library/busybox:1.37.0");

        // The Secret: the scripts the pods run, and the proxy credentials with the password of
        // values.secrets.yaml; private.
        const secretFile = file(rendered, "agent/secret.yaml");
        expect(secretFile.mode).toBe(0o600);
        const password: string = parse(file(rendered, "values.secrets.yaml").content).client.config.proxy.server
            .basicAuth.password;
        expect(password).toMatch(/^[A-Za-z0-9]{8,}$/);
        const secret = parse(secretFile.content);
        expect(secret.metadata.name).toBe(`dragonfly-node-agent-${hash}`);
        expect(secret.stringData["agent.sh"]).toBe(scripts.entrypoint);
        expect(secret.stringData["apply.sh"]).toBe(scripts.apply);
        expect(secret.stringData["restore.sh"]).toBe(scripts.restore);
        expect(secret.stringData["proxy-credentials"]).toBe(`dragonfly:${password}`);
        for (const f of rendered.filter((x) => x.path !== "agent/secret.yaml" && x.path !== "values.secrets.yaml")) {
            expect(f.content).not.toContain(password);
        }
        expect(file(rendered, "README.txt").content).toContain("kubectl apply -f agent/secret.yaml -f agent/agent.yaml");
    });

    test("the CLI refuses to empty a directory it did not write, and replaces one it wrote", () => {
        // The CLI's code, compiled as ts-node compiles it (the test below runs it through ts-node).
        const render = (out: string) =>
            spawnSync(process.execPath, tsNodeArgs("scripts/render.ts", "--stack", "dev", "--out", out), {
                cwd: ROOT,
                encoding: "utf8",
            });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
        try {
            const mine = path.join(dir, "mine");
            fs.mkdirSync(mine);
            fs.writeFileSync(path.join(mine, "notes.txt"), "keep me\n");
            const refused = render(mine);
            expect(refused.status).toBe(1);
            expect(refused.stderr).toContain(
                `--out ${mine}: a directory that is not empty and that render did not write`,
            );
            expect(fs.readdirSync(mine)).toEqual(["notes.txt"]);
            const aFile = path.join(mine, "notes.txt");
            expect(render(aFile).stderr).toContain(`--out ${aFile}: not a directory`);
            expect(fs.readFileSync(aFile, "utf8")).toBe("keep me\n");
            const missingValue = spawnSync(process.execPath, tsNodeArgs("scripts/render.ts", "--out"), {
                cwd: ROOT,
                encoding: "utf8",
            });
            expect(missingValue.stderr).toContain("--out needs a value");

            const out = path.join(dir, "out");
            expect(render(out).status).toBe(0);
            fs.mkdirSync(path.join(out, "nodes/removed-node"));
            fs.writeFileSync(path.join(out, "nodes/removed-node/apply.sh"), "stale\n");
            const again = render(out);
            expect(again.stderr).toBe("");
            expect(again.status).toBe(0);
            expect(fs.existsSync(path.join(out, "nodes/removed-node"))).toBe(false);
            expect(fs.existsSync(path.join(out, "values.yaml"))).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("the CLI writes the files with their modes", () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
        try {
            const stdout = execFileSync(
                path.join(ROOT, "node_modules/.bin/ts-node"),
                [
                    "--transpile-only",
                    "scripts/render.ts",
                    "--stack",
                    "dev",
                    "--out",
                    out,
                    "--proxy-address",
                    "10.0.0.5",
                ],
                { cwd: ROOT, encoding: "utf8" },
            );
            expect(stdout).toMatch(/render: 10 files for stack dev/);
            expect(fs.statSync(path.join(out, "values.secrets.yaml")).mode & 0o777).toBe(0o600);
            expect(fs.statSync(path.join(out, "nodes/node-1/apply.sh")).mode & 0o777).toBe(0o755);
            expect(fs.readFileSync(path.join(out, "nodes/node-2/apply.sh"), "utf8")).toContain("http://10.0.0.5:4001");
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});
