/**
 * The real Pulumi CLI (v3.276.0, built by scripts/tools.sh) loads the project and the example
 * stack as shipped: Pulumi.yaml's declared config types, every `secure:` value of Pulumi.dev.yaml,
 * and the consumer example's project. Offline: file backend, passphrase secrets, no plugin
 * downloads. The language host and the providers are the ones scripts/tools.sh builds, so
 * `pulumi preview` runs the program itself (each project's `main` points at this repository):
 * the example stack as shipped stops exactly where its comments say it does, and the consumer
 * example at the StackReference it names. (tests/real/engine.test.ts runs the whole stack.)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { describePrivileged } from "../helpers/privileged";
import { tempDir } from "../helpers/kube/helm";
import { toolPath, toolsBin } from "../helpers/tools";

const ROOT = path.resolve(__dirname, "../..");
const NO_LANGUAGE_HOST = /no language plugin 'pulumi-language-nodejs' found/;
/** What Pulumi.dev.yaml's comments promise a first preview says until the SSH key is set. */
const NEEDS_SSH_KEY = /ssh\.privateKey or ssh\.password/;

/** Writes `file` (a Pulumi.yaml) into `dir` with `main` pointing at the program's directory. */
function withMain(file: string, dir: string, main: string): void {
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `${fs.readFileSync(file, "utf8").trimEnd()}\nmain: ${main}\n`);
}

interface CliResult {
    code: number;
    out: string;
}

describePrivileged(
    "the real Pulumi CLI accepts the projects and their declared config",
    {
        tools: [
            "pulumi",
            "pulumi-language-nodejs",
            "pulumi-resource-command",
            "pulumi-resource-random",
            "pulumi-resource-kubernetes",
        ],
    },
    () => {
        const work = tempDir("dfcce-cli-");
        const env: NodeJS.ProcessEnv = {
            PATH: `${toolsBin()}:${process.env.PATH ?? ""}`,
            HOME: work,
            PULUMI_HOME: path.join(work, "pulumi-home"),
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        /** Runs the CLI; stdout and stderr together, as a CI log shows them. */
        const pulumi = (cwd: string, args: string[]): CliResult => {
            const r = spawnSync(toolPath("pulumi"), args, { cwd, env, encoding: "utf8" });
            return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
        };
        const project = path.join(work, "project");

        beforeAll(() => {
            fs.mkdirSync(path.join(work, "state"), { recursive: true });
            fs.mkdirSync(project);
            fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(project, "Pulumi.dev.yaml"));
            withMain(path.join(ROOT, "Pulumi.yaml"), project, ROOT);
            const init = pulumi(project, ["stack", "init", "dev", "--secrets-provider", "passphrase"]);
            expect(init).toEqual({ code: 0, out: expect.stringContaining("Created stack 'dev'") });
        });
        afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

        test("the CLI reports the pinned version", () => {
            expect(pulumi(work, ["version"]).out.trim()).toBe("v3.276.0");
        });

        test("Pulumi.yaml's declared defaults apply to the example stack", () => {
            const r = spawnSync(toolPath("pulumi"), ["config", "--stack", "dev", "--show-secrets", "--json"], {
                cwd: project,
                env,
                encoding: "utf8",
            });
            expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
            const cfg = JSON.parse(r.stdout) as Record<string, { value: string }>;
            expect(cfg["dragonfly-cce:nodePool"].value).toBe("test-dragonfly-nodepool");
            // Pulumi.yaml's declared default applies.
            expect(cfg["dragonfly-cce:releaseTimeoutSeconds"].value).toBe("900");
        });

        test("pulumi preview of the example stack as shipped runs the program and stops for the SSH key", () => {
            const r = pulumi(project, ["preview", "--stack", "dev", "--non-interactive"]);
            expect(r.code).not.toBe(0);
            expect(r.out).not.toMatch(/validating stack config|could not decrypt|bad value/);
            expect(r.out).not.toMatch(NO_LANGUAGE_HOST);
            expect(r.out).toMatch(NEEDS_SSH_KEY);
        });

        test("the check can fail: a value of the wrong declared type stops preview at config validation", () => {
            // Another stack of the same project, from the same file, with one value of the wrong type.
            const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
            fs.writeFileSync(
                path.join(project, "Pulumi.bad.yaml"),
                dev.replace(/^config:\n/m, "config:\n  dragonfly-cce:releaseTimeoutSeconds: soon\n"),
            );
            expect(pulumi(project, ["stack", "init", "bad", "--secrets-provider", "passphrase"]).code).toBe(0);
            const r = pulumi(project, ["preview", "--stack", "bad", "--non-interactive"]);
            expect(r.code).not.toBe(0);
            expect(r.out).toMatch(/validating stack config/);
            expect(r.out).toMatch(/releaseTimeoutSeconds/);
            expect(r.out).not.toMatch(NEEDS_SSH_KEY);
        });

        test("the consumer example's project loads", () => {
            const consumer = path.join(work, "consumer");
            fs.mkdirSync(consumer);
            const example = path.join(ROOT, "examples/consumer");
            withMain(path.join(example, "Pulumi.yaml"), consumer, example);
            const init = pulumi(consumer, ["stack", "init", "dev", "--secrets-provider", "passphrase"]);
            expect(init.code).toBe(0);
            // Only the required key is set: extraNoProxy is optional (declared with a default).
            const missing = pulumi(consumer, ["preview", "--stack", "dev", "--non-interactive"]);
            expect(missing.out).toMatch(/missing configuration values? 'dragonflyStack'/);
            expect(missing.out).not.toMatch(/extraNoProxy/);
            expect(pulumi(consumer, ["config", "set", "dragonflyStack", "organization/dragonfly-cce/dev"]).code).toBe(
                0,
            );
            const r = pulumi(consumer, ["preview", "--stack", "dev", "--non-interactive"]);
            expect(r.out).not.toMatch(/validating stack config/);
            // The program runs and looks the producer up: no such stack in this backend.
            expect(r.out).not.toMatch(NO_LANGUAGE_HOST);
            expect(r.out).toMatch(/organization\/dragonfly-cce\/dev/);
        });
    },
);
