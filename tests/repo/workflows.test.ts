/**
 * The GitHub Actions workflows, read as GitHub reads them (YAML 1.2): what triggers them, what
 * they may do, which actions they run, where their credentials come from, and that every npm
 * command they call exists. Plus the credentials script they run, executed for real against a
 * stand-in `pulumi`.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

import { describePrivileged } from "../helpers/privileged";

const ROOT = path.join(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const CREDENTIALS_SCRIPT = path.join(ROOT, ".github", "scripts", "credentials.sh");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

interface Workflow {
    file: string;
    text: string;
    doc: any;
}

function load(file: string): Workflow {
    const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
    return { file, text, doc: parse(text) };
}

const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const workflows = files.map(load);
const byName = (file: string): Workflow => {
    const w = workflows.find((x) => x.file === file);
    if (w === undefined) {
        throw new Error(`.github/workflows/${file} is missing`);
    }
    return w;
};

interface JobRef {
    workflow: Workflow;
    id: string;
    job: any;
}

const jobs: JobRef[] = workflows.flatMap((w) =>
    Object.entries(w.doc.jobs ?? {}).map(([id, job]) => ({ workflow: w, id, job })),
);
const steps = jobs.flatMap((j) => (j.job.steps ?? []).map((step: any) => ({ ...j, step })));

/** Every string value anywhere under `v`, with its dotted path. */
function strings(v: unknown, at = ""): Array<{ at: string; value: string }> {
    if (typeof v === "string") {
        return [{ at, value: v }];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => strings(x, `${at}[${i}]`));
    }
    if (v !== null && typeof v === "object") {
        return Object.entries(v).flatMap(([k, x]) => strings(x, at === "" ? k : `${at}.${k}`));
    }
    return [];
}

/** The scripts a workflow runs: its `run:` blocks plus the repository scripts they invoke. */
function runTexts(): Array<{ where: string; text: string }> {
    const out: Array<{ where: string; text: string }> = steps
        .filter((s) => typeof s.step.run === "string")
        .map((s) => ({ where: `${s.workflow.file}:${s.id}`, text: s.step.run as string }));
    const seen = new Set<string>();
    for (let i = 0; i < out.length; i++) {
        for (const m of out[i].text.matchAll(/\bbash\s+((?:\.\/)?[\w./-]+\.sh|\.ci\/run)\b/g)) {
            const rel = m[1].replace(/^\.\//, "");
            if (!seen.has(rel) && fs.existsSync(path.join(ROOT, rel))) {
                seen.add(rel);
                out.push({ where: rel, text: fs.readFileSync(path.join(ROOT, rel), "utf8") });
            }
        }
    }
    return out;
}

describe("workflow files", () => {
    test("pr.yml, deploy.yml and the shared checks.yml exist and parse", () => {
        expect(files.sort()).toEqual(["checks.yml", "deploy.yml", "pr.yml"]);
        for (const w of workflows) {
            expect(typeof w.doc.name).toBe("string");
            expect(Object.keys(w.doc.jobs).length).toBeGreaterThan(0);
        }
    });

    test("triggers: pull requests to main; pushes to main; checks only when called", () => {
        const pr = byName("pr.yml").doc.on;
        expect(Object.keys(pr)).toEqual(["pull_request"]);
        expect(pr.pull_request.branches).toEqual(["main"]);
        const deploy = byName("deploy.yml").doc.on;
        expect(Object.keys(deploy)).toEqual(["push"]);
        expect(deploy.push.branches).toEqual(["main"]);
        expect(Object.keys(byName("checks.yml").doc.on)).toEqual(["workflow_call"]);
        // pull_request_target runs with secrets on fork code: never.
        for (const w of workflows) {
            expect(w.text).not.toMatch(/pull_request_target|workflow_run/);
        }
    });

    test("permissions: read-only everywhere; pull-requests: write only where the preview is commented", () => {
        for (const w of workflows) {
            expect(w.doc.permissions).toEqual({ contents: "read" });
        }
        for (const { workflow, id, job } of jobs) {
            const where = `${workflow.file}:${id}`;
            expect({ where, permissions: job.permissions }).toEqual({ where, permissions: expect.any(Object) });
            const comments = (job.steps ?? []).some((s: any) => s.with?.["comment-on-pr"] === true);
            const expected = comments ? { contents: "read", "pull-requests": "write" } : { contents: "read" };
            expect({ where, permissions: job.permissions }).toEqual({ where, permissions: expected });
        }
        expect(jobs.filter((j) => j.job.permissions["pull-requests"] === "write").map((j) => j.id)).toEqual([
            "preview",
        ]);
    });

    test("every action is pinned: a full commit SHA with its release in a comment, or an exact release tag", () => {
        const uses: Array<{ where: string; ref: string }> = [
            ...jobs.filter((j) => j.job.uses).map((j) => ({ where: `${j.workflow.file}:${j.id}`, ref: j.job.uses })),
            ...steps.filter((s) => s.step.uses).map((s) => ({ where: `${s.workflow.file}:${s.id}`, ref: s.step.uses })),
        ];
        expect(uses.length).toBeGreaterThan(5);
        for (const { where, ref } of uses) {
            if (ref.startsWith("./")) {
                // A workflow of this repository, at the same commit.
                expect({ where, exists: fs.existsSync(path.join(ROOT, ref)) }).toEqual({ where, exists: true });
                continue;
            }
            const m = /^([\w.-]+\/[\w.-]+(?:\/[\w./-]+)?)@(.+)$/.exec(ref);
            expect({ where, ref, ok: m !== null }).toEqual({ where, ref, ok: true });
            const version = m![2];
            const sha = /^[0-9a-f]{40}$/.test(version);
            const exactTag = /^v\d+\.\d+\.\d+$/.test(version);
            expect({ where, ref, pinned: sha || exactTag }).toEqual({ where, ref, pinned: true });
        }
        // A SHA pin says which release it is, so a reader (and a bot) can tell.
        const lines = workflows.flatMap((w) => w.text.split("\n").map((line) => ({ file: w.file, line })));
        for (const { file, line } of lines.filter((l) => /uses:\s*[\w.-]+\/[\w.-]+@[0-9a-f]{40}/.test(l.line))) {
            expect({ file, line, commented: /@[0-9a-f]{40}\s+#\s*v\d+\.\d+\.\d+\s*$/.test(line) }).toEqual({
                file,
                line,
                commented: true,
            });
        }
        // The same action is pinned to the same version everywhere.
        const versions = new Map<string, Set<string>>();
        for (const { ref } of uses.filter((u) => !u.ref.startsWith("./"))) {
            const [action, version] = ref.split("@");
            versions.set(action, (versions.get(action) ?? new Set()).add(version));
        }
        for (const [action, set] of versions) {
            expect({ action, versions: [...set] }).toEqual({ action, versions: [[...set][0]] });
        }
    });

    test("the test job installs a Go new enough for every wrapper module scripts/tools.sh builds", () => {
        const checks = steps.filter((s) => s.workflow.file === "checks.yml" && s.id === "test");
        const setupGo = checks.find((s) => /^actions\/setup-go@/.test(s.step.uses ?? ""));
        expect(setupGo).toBeDefined();
        const have = String((setupGo!.step.with as Record<string, unknown>)["go-version"])
            .split(".")
            .map(Number);
        for (const mod of ["tools/kubernetes/go.mod", "tools/pulumi/go.mod"]) {
            const need = /^go (\d+)\.(\d+)(?:\.(\d+))?$/m
                .exec(fs.readFileSync(path.join(ROOT, mod), "utf8"))!
                .slice(1)
                .map((x) => Number(x ?? 0));
            const cmp = have[0] - need[0] || have[1] - need[1] || (have[2] ?? 0) - need[2];
            expect({ mod, have: have.join("."), newEnough: cmp >= 0 }).toEqual({
                mod,
                have: have.join("."),
                newEnough: true,
            });
        }
        // .ci/run (which runs scripts/setup.sh, which runs scripts/tools.sh) comes after it.
        const ids = checks.map((s) => s.step.uses ?? s.step.run);
        expect(ids.indexOf("bash .ci/run")).toBeGreaterThan(ids.indexOf(setupGo!.step.uses));
    });

    test("credentials come from secrets only, through env or with, never interpolated into scripts", () => {
        const sensitiveKey = /token|password|passphrase|secret|private|key|kubeconfig|credential/i;
        for (const s of steps) {
            const where = `${s.workflow.file}:${s.id}:${s.step.name ?? s.step.uses ?? "run"}`;
            for (const [k, v] of Object.entries({ ...s.job.env, ...s.step.env, ...s.step.with })) {
                if (!sensitiveKey.test(k) || k === "persist-credentials") {
                    continue;
                }
                expect({ where, key: k, value: v }).toEqual({
                    where,
                    key: k,
                    value: expect.stringMatching(/^\$\{\{ secrets\.[A-Z][A-Z0-9_]* \}\}$/),
                });
            }
            if (typeof s.step.run === "string") {
                // Secrets and event fields in a script are script injection / log leaks waiting to happen.
                expect({ where, run: s.step.run }).toEqual({ where, run: expect.not.stringMatching(/\$\{\{/) });
            }
        }
        // Every reference to a secret sits in an env or with value of a step.
        for (const w of workflows) {
            for (const { at, value } of strings(w.doc)) {
                if (value.includes("secrets.")) {
                    expect({ file: w.file, at }).toEqual({
                        file: w.file,
                        at: expect.stringMatching(/^jobs\.\w+\.steps\[\d+\]\.(env|with)\.[\w-]+$/),
                    });
                }
            }
        }
    });

    test("no plaintext credentials in the workflow files", () => {
        const patterns = [
            /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
            /\bpul-[0-9a-f]{40}\b/, // Pulumi access token
            /\bgh[pousr]_[A-Za-z0-9]{30,}/, // GitHub tokens
            /\bAKIA[0-9A-Z]{16}\b/, // AWS-style access key ids
            /client-(key|certificate)-data:/, // kubeconfig contents
            /\btoken:\s*[A-Za-z0-9._-]{20,}/,
        ];
        for (const file of [...files.map((f) => path.join(WORKFLOWS, f)), CREDENTIALS_SCRIPT]) {
            const text = fs.readFileSync(file, "utf8");
            for (const p of patterns) {
                expect({ file, pattern: String(p), found: p.test(text) }).toEqual({
                    file,
                    pattern: String(p),
                    found: false,
                });
            }
        }
    });

    test("the secrets the workflows read are exactly the ones docs/ci.md tells you to add", () => {
        const used = new Set<string>();
        for (const w of workflows) {
            for (const m of w.text.matchAll(/\$\{\{\s*secrets\.([A-Z][A-Z0-9_]*)\s*\}\}/g)) {
                used.add(m[1]);
            }
        }
        expect([...used].sort()).toEqual(
            ["KUBECONFIG", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "SSH_PRIVATE_KEY"].sort(),
        );
        const ciDoc = fs.readFileSync(path.join(ROOT, "docs", "ci.md"), "utf8");
        for (const name of used) {
            expect({ name, documented: ciDoc.includes(`\`${name}\``) }).toEqual({ name, documented: true });
        }
        expect(ciDoc).toContain("`PULUMI_STACK`");
    });

    test("the stack comes from the PULUMI_STACK repository variable, default dev", () => {
        for (const file of ["pr.yml", "deploy.yml"]) {
            const doc = byName(file).doc;
            expect(doc.env.PULUMI_STACK).toBe("${{ vars.PULUMI_STACK || 'dev' }}");
            const pulumiSteps = steps.filter((s) => s.workflow.file === file && s.step.with?.command);
            expect(pulumiSteps.length).toBe(1);
            expect(pulumiSteps[0].step.with["stack-name"]).toBe("${{ env.PULUMI_STACK }}");
        }
    });

    test("pull requests: checks, then a preview with --diff commented on the PR (one comment, edited)", () => {
        const doc = byName("pr.yml").doc;
        expect(doc.jobs.checks.uses).toBe("./.github/workflows/checks.yml");
        const preview = doc.jobs.preview;
        // Secrets are not available to forks' pull requests: the preview runs for this repository's branches.
        expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
        const step = preview.steps.find((s: any) => s.with?.command);
        expect(step.uses).toMatch(/^pulumi\/actions@/);
        expect(step.with).toMatchObject({
            command: "preview",
            diff: true,
            "comment-on-pr": true,
            "edit-pr-comment": true,
        });
        expect(step.env.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
    });

    test("deploy: checks first, then pulumi up, one at a time per stack, behind an environment", () => {
        const doc = byName("deploy.yml").doc;
        expect(doc.concurrency).toEqual({
            group: "pulumi-up-${{ vars.PULUMI_STACK || 'dev' }}",
            // A cancelled `pulumi up` leaves pending operations in the stack: queue, never cancel.
            "cancel-in-progress": false,
        });
        expect(doc.jobs.checks.uses).toBe("./.github/workflows/checks.yml");
        const up = doc.jobs.up;
        expect(up.needs).toBe("checks");
        expect(up.environment).toBe("production");
        const step = up.steps.find((s: any) => s.with?.command);
        expect(step.uses).toMatch(/^pulumi\/actions@/);
        expect(step.with.command).toBe("up");
        expect(step.with["comment-on-pr"]).toBeUndefined();
        // Only the deploy job runs `up`, and only deploy.yml has an environment.
        const ups = steps.filter((s) => s.step.with?.command === "up" || /pulumi\s+up\b/.test(s.step.run ?? ""));
        expect(ups.map((s) => `${s.workflow.file}:${s.id}`)).toEqual(["deploy.yml:up"]);
        expect(jobs.filter((j) => j.job.environment).map((j) => `${j.workflow.file}:${j.id}`)).toEqual([
            "deploy.yml:up",
        ]);
    });

    test("checks: lint, and the test suite as .ci/run runs it (root on Debian, CI=true)", () => {
        const doc = byName("checks.yml").doc;
        const lintRuns = doc.jobs.lint.steps.map((s: any) => s.run).filter(Boolean);
        expect(lintRuns).toEqual(["npm ci --no-audit --no-fund", "npm run lint"]);
        const test = doc.jobs.test;
        expect(test.container.image).toMatch(/^debian:/);
        expect(test.container.options).toContain("--privileged");
        // Overlay upper layers and containerd roots need a real file system, not the container's overlay.
        expect(test.container.volumes).toEqual(["/var/tmp/dragonfly-ci:/var/tmp", "/tmp/dragonfly-ci:/tmp"]);
        expect(test.env.CI).toBe("true");
        expect(test.steps.map((s: any) => s.run).filter(Boolean)).toEqual(["bash .ci/run"]);
    });

    test("the Pulumi CLI is pinned to the @pulumi/pulumi version of package.json", () => {
        const sdk = pkg.dependencies["@pulumi/pulumi"];
        expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
        for (const file of ["pr.yml", "deploy.yml"]) {
            expect(byName(file).doc.env.PULUMI_VERSION).toBe(sdk);
            for (const s of steps.filter(
                (x) => x.workflow.file === file && /^pulumi\/actions@/.test(x.step.uses ?? ""),
            )) {
                expect(s.step.with["pulumi-version"]).toBe("${{ env.PULUMI_VERSION }}");
            }
        }
    });

    test("every npm command the workflows run (directly or through .ci/run) exists", () => {
        const builtins = new Set(["ci", "install"]);
        const calls: Array<{ where: string; script: string }> = [];
        for (const { where, text } of runTexts()) {
            // npm in command position (not in comments or echoed text).
            const commandPosition = /(?:^|&&|\|\||;|\||\bthen|\bdo)[ \t]*npm[ \t]+(run[ \t]+)?([\w:-]+)/gm;
            for (const m of text.replace(/^\s*#.*$/gm, "").matchAll(commandPosition)) {
                if (m[1] === undefined && builtins.has(m[2])) {
                    continue;
                }
                calls.push({ where, script: m[2] });
            }
        }
        expect(calls.map((c) => c.script)).toEqual(expect.arrayContaining(["lint", "test"]));
        for (const { where, script } of calls) {
            expect({ where, script, defined: typeof pkg.scripts[script] === "string" }).toEqual({
                where,
                script,
                defined: true,
            });
        }
        expect(pkg.scripts.lint).toBe("tsc --noEmit && eslint . && prettier --check . && bash scripts/lint-sources.sh");
    });

    test("every script file the workflows run exists", () => {
        const scripts = runTexts().map((r) => r.where);
        expect(scripts).toEqual(expect.arrayContaining([".ci/run", ".github/scripts/credentials.sh"]));
        for (const s of steps.filter((x) => typeof x.step.run === "string")) {
            for (const m of (s.step.run as string).matchAll(/\bbash\s+([\w./-]+)/g)) {
                expect({ file: m[1], exists: fs.existsSync(path.join(ROOT, m[1])) }).toEqual({
                    file: m[1],
                    exists: true,
                });
            }
        }
    });
});

describe(".github/scripts/credentials.sh", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `creds-${process.pid}-`));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        // A stand-in pulumi: records its arguments and its stdin.
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>"${dir}/pulumi.args"\ncat >>"${dir}/pulumi.stdin"\n`,
            { mode: 0o755 },
        );
    });
    afterAll(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function run(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
        const runnerTemp = fs.mkdtempSync(path.join(dir, "runner-"));
        const githubEnv = path.join(runnerTemp, "github_env");
        fs.writeFileSync(githubEnv, "");
        const r = spawnSync("bash", [CREDENTIALS_SCRIPT], {
            env: {
                PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                RUNNER_TEMP: runnerTemp,
                GITHUB_ENV: githubEnv,
                PULUMI_STACK: "org/dragonfly-cce/dev",
                ...env,
            },
            encoding: "utf8",
        });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    test("writes the kubeconfig to a private file, exports KUBECONFIG, stores the SSH key as a secret via stdin", () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAtest\n-----END OPENSSH PRIVATE KEY-----";
        const r = run({ KUBECONFIG_CONTENTS: kubeconfig, SSH_PRIVATE_KEY: key });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const runner = fs.readdirSync(dir).filter((d) => d.startsWith("runner-"));
        const runnerTemp = path.join(dir, runner[runner.length - 1]);
        const file = path.join(runnerTemp, "kubeconfig");
        expect(fs.readFileSync(file, "utf8")).toBe(kubeconfig + "\n");
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(fs.readFileSync(path.join(runnerTemp, "github_env"), "utf8")).toBe(`KUBECONFIG=${file}\n`);
        expect(fs.readFileSync(path.join(dir, "pulumi.args"), "utf8")).toBe(
            "config set --secret --path ssh.privateKey --stack org/dragonfly-cce/dev\n",
        );
        expect(fs.readFileSync(path.join(dir, "pulumi.stdin"), "utf8")).toBe(key + "\n");
        // Neither secret reaches the log.
        expect(r.stdout).not.toContain("AAAAtest");
        expect(r.stdout).not.toContain("clusters");
    });

    test("without the secrets it changes nothing and says so", () => {
        fs.rmSync(path.join(dir, "pulumi.args"), { force: true });
        const r = run({});
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("::notice::KUBECONFIG secret not set");
        expect(fs.existsSync(path.join(dir, "pulumi.args"))).toBe(false);
    });

    test("refuses to run without a stack name", () => {
        const r = run({ PULUMI_STACK: "" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("PULUMI_STACK is not set");
    });
});

describePrivileged("CI shell scripts under shellcheck", { commands: ["shellcheck"] }, () => {
    test(".github/scripts/credentials.sh and .ci/run are clean", () => {
        const out = execFileSync("shellcheck", [CREDENTIALS_SCRIPT, path.join(ROOT, ".ci", "run")], {
            encoding: "utf8",
        });
        expect(out).toBe("");
    });
});
