/**
 * The real Pulumi engine against the local world (tests/helpers/world/local.ts): the CLI and
 * the plugins that scripts/tools.sh builds, offline, with a file backend and the passphrase
 * secrets provider, run inside the world's hub namespace. One `EngineProject` is one Pulumi
 * project directory whose `main` is a program of this repository (the program itself, or the
 * consumer example), so the repository's files are never written.
 */
import { spawn } from "child_process";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { parse, stringify } from "yaml";

import { toolPath, toolsBin } from "./tools";
import { WorldInfo } from "./world/local";

export const ROOT = resolve(__dirname, "../..");

/** The engine's binaries: the suite needs every one of them. */
export const ENGINE_TOOLS = [
    "pulumi",
    "pulumi-language-nodejs",
    "pulumi-resource-command",
    "pulumi-resource-random",
    "pulumi-resource-kubernetes",
];

/** What the local world with its kubelet node runs, and the engine: the real suites on it need every one. */
export const LOCAL_WORLD_TOOLS = [
    ...ENGINE_TOOLS,
    "helm",
    "kine",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "crictl",
];

export interface CliResult {
    status: number;
    stdout: string;
    stderr: string;
    /** Wall-clock seconds. */
    seconds: number;
}

/** The environment of the offline CLI (the same variables as scripts/pulumi-offline.sh). */
export function offlineEnv(home: string, state: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
        ...process.env,
        PATH: `${toolsBin()}:${process.env.PATH ?? ""}`,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_CONFIG_PASSPHRASE: "dragonfly-cce-engine-suite",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        // No colour codes and no progress spinner in what the tests read.
        PULUMI_COLOR: "never",
        ...extra,
    };
}

/** Runs a command in a network namespace, collecting its output (no timeout but `timeoutMs`). */
export function runIn(
    netns: string,
    argv: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
    const t0 = Date.now();
    return new Promise((done, fail) => {
        const child = spawn("ip", ["netns", "exec", netns, ...argv], {
            cwd: opts.cwd,
            env: opts.env,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
        child.on("error", fail);
        child.on("close", (code) => {
            clearTimeout(timer);
            done({
                status: code ?? -1,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
                seconds: (Date.now() - t0) / 1000,
            });
        });
        child.stdin.end(opts.input ?? "");
    });
}

export interface EngineProjectOptions {
    /** The world to run against. */
    world: WorldInfo;
    /** Work directory of this project (created). */
    dir: string;
    /** The program's directory in this repository (default: the repository root). */
    main?: string;
    /** The stack name. */
    stack: string;
    /** The stack's config file contents, as an object (`config:` map). */
    config: Record<string, unknown>;
    /** Pulumi.yaml of the program (default: `<main>/Pulumi.yaml`). */
    projectFile?: string;
    /** Shares state and PULUMI_HOME with another project (for StackReference). */
    backendOf?: EngineProject;
}

export class EngineProject {
    readonly dir: string;
    readonly home: string;
    readonly state: string;
    readonly env: NodeJS.ProcessEnv;

    constructor(readonly opts: EngineProjectOptions) {
        this.dir = join(opts.dir, "project");
        this.home = opts.backendOf?.home ?? join(opts.dir, "home");
        this.state = opts.backendOf?.state ?? join(opts.dir, "state");
        mkdirSync(this.dir, { recursive: true });
        mkdirSync(this.state, { recursive: true });
        const main = opts.main ?? ROOT;
        const project = readFileSync(opts.projectFile ?? join(main, "Pulumi.yaml"), "utf8");
        writeFileSync(join(this.dir, "Pulumi.yaml"), `${project.trimEnd()}\nmain: ${main}\n`);
        this.writeConfig(opts.config);
        this.env = offlineEnv(this.home, this.state, { KUBECONFIG: opts.world.kubeconfig });
    }

    get stackFile(): string {
        return join(this.dir, `Pulumi.${this.opts.stack}.yaml`);
    }

    /** Replaces the stack's config (keeping the encryption salt and encrypted values it holds). */
    writeConfig(config: Record<string, unknown>): void {
        let salt: string | undefined;
        try {
            salt = (parse(readFileSync(this.stackFile, "utf8")) as { encryptionsalt?: string }).encryptionsalt;
        } catch {
            salt = undefined;
        }
        writeFileSync(this.stackFile, stringify({ ...(salt ? { encryptionsalt: salt } : {}), config }));
    }

    /** The stack's config as the file holds it now. */
    readConfig(): Record<string, unknown> {
        return (parse(readFileSync(this.stackFile, "utf8")) as { config: Record<string, unknown> }).config;
    }

    /** `pulumi ARGS --non-interactive` in the world's hub, in this project. */
    pulumi(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
        return runIn(this.opts.world.hub, [toolPath("pulumi"), ...args, "--non-interactive"], {
            cwd: this.dir,
            env: { ...this.env, ...(opts.env ?? {}) },
            input: opts.input,
        });
    }

    /** Runs a command (not pulumi) in the hub with this project's environment and directory. */
    run(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
        return runIn(this.opts.world.hub, argv, {
            cwd: this.dir,
            env: { ...this.env, ...(opts.env ?? {}) },
            input: opts.input,
        });
    }
}

/**
 * The world's stack file (Pulumi.local.yaml) as a `config:` map, with `nodes` nodes (the world's
 * addresses) and the given keys replaced.
 */
export function localConfig(over: Record<string, unknown> = {}, nodes = 2): Record<string, unknown> {
    const doc = parse(readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
    const list = Array.from({ length: nodes }, (_, i) => ({ name: `node-${i + 1}`, host: `198.18.0.${10 + i}` }));
    return { ...doc.config, "dragonfly-cce:nodes": list, ...over };
}

/** Throws with the CLI's output unless it exited 0. */
export function ok(r: CliResult, what: string): CliResult {
    if (r.status !== 0) {
        throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-4000)}`);
    }
    return r;
}

/** `resourceChanges` of the stack's latest update, refresh or destroy (`pulumi stack history`). */
export async function lastChanges(project: EngineProject, stack: string): Promise<Record<string, number>> {
    const r = ok(await project.pulumi(["stack", "history", "--json", "--stack", stack]), "stack history");
    const history = JSON.parse(r.stdout) as Array<{ kind: string; resourceChanges?: Record<string, number> }>;
    return history[0]?.resourceChanges ?? {};
}

/** One step of `pulumi preview --json`. */
export interface PreviewStep {
    op: string;
    urn: string;
}

/** The steps of a `pulumi preview --json` (or `up --json`) run, without the `same` ones. */
export function changedSteps(json: string): PreviewStep[] {
    const doc = JSON.parse(json) as { steps?: PreviewStep[] };
    return (doc.steps ?? []).filter((s) => s.op !== "same").map((s) => ({ op: s.op, urn: s.urn }));
}

/** The last part of a URN (the resource's name). */
export function urnName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}
