/**
 * The real Pulumi CLI (built by scripts/tools.sh) loads Pulumi.dev.yaml as shipped, with a local
 * backend and the passphrase secrets provider: `pulumi config` decrypts every `secure:` value, so
 * a placeholder would stop a newcomer's first preview with a decryption error. What the CLI writes
 * for `config set --secret` passes the shape check of tests/stackFile.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

import { describePrivileged } from "../helpers/privileged";
import { ciphertextProblem, secureValues } from "../helpers/stackFile";
import { toolPath } from "../helpers/tools";

const ROOT = path.resolve(__dirname, "../..");

describePrivileged("the real Pulumi CLI loads the example stack file", { tools: ["pulumi"] }, () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dfcce-cli-"));
    const project = path.join(work, "project");
    const env = {
        ...process.env,
        PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "dragonfly-cce-test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
    const pulumi = (...args: string[]) =>
        spawnSync(toolPath("pulumi"), [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8" });

    beforeAll(() => {
        fs.mkdirSync(path.join(work, "state"), { recursive: true });
        fs.mkdirSync(project);
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) {
            fs.copyFileSync(path.join(ROOT, f), path.join(project, f));
        }
        const init = pulumi("stack", "init", "dev", "--secrets-provider", "passphrase");
        expect({ status: init.status, stderr: init.stderr }).toEqual({ status: 0, stderr: "Created stack 'dev'\n" });
    });

    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    test("pulumi config reads every key of Pulumi.dev.yaml as shipped", () => {
        const r = pulumi("config", "--stack", "dev", "--show-secrets", "--json");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const config = JSON.parse(r.stdout);
        expect(config["dragonfly-cce:nodePool"].value).toBe("test-dragonfly-nodepool");
        expect(Object.keys(config).length).toBeGreaterThan(10);
    });

    test("the ciphertext `config set --secret` writes passes the shape check, and decrypts", () => {
        const set = spawnSync(
            toolPath("pulumi"),
            [
                "config",
                "set",
                "--stack",
                "dev",
                "--secret",
                "--path",
                "dragonfly-cce:ssh.privateKey",
                "--non-interactive",
            ],
            { cwd: project, env, encoding: "utf8", input: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n" },
        );
        expect(set.status).toBe(0);
        const doc = parse(fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8"));
        const secure = secureValues(doc.config);
        expect(secure.map((s) => s.at)).toEqual(["dragonfly-cce:ssh.privateKey"]);
        expect(ciphertextProblem(secure[0].value)).toBe("");
        const r = pulumi("config", "get", "--stack", "dev", "--path", "dragonfly-cce:ssh.privateKey");
        expect(r.stdout).toContain("BEGIN OPENSSH PRIVATE KEY");
    });

    test("the old placeholder stops the CLI with a decryption error (what the shape check prevents)", () => {
        const file = path.join(project, "Pulumi.dev.yaml");
        const doc = parse(fs.readFileSync(file, "utf8"));
        doc.config["dragonfly-cce:ssh"].privateKey = { secure: "v1:REPLACE-WITH-pulumi-config-set---secret" };
        fs.writeFileSync(file, JSON.stringify(doc));
        const r = pulumi("config", "--stack", "dev", "--show-secrets", "--json");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/decrypt/i);
        expect(ciphertextProblem("v1:REPLACE-WITH-pulumi-config-set---secret")).not.toBe("");
    });
});
