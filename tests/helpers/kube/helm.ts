/**
 * Renders the pinned Dragonfly chart with real Helm (built by scripts/tools.sh), from the files
 * `npm run render` produces for a stack config: the same functions the stack calls
 * (buildHelmValues, the Service and namespace manifests), with fixed "generated" secrets.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";

import { renderStack } from "../../../lib/render";
import { proxyCaSecretManifest } from "../../../lib/cluster/services";
import { parseStackConfig, StackConfig } from "../../../lib/config";
import { toolPath } from "../tools";

/** The whole chart 1.7.4 with its subcharts (a byte-checked copy of ../shared's). */
export const CHART_DIR = path.resolve(__dirname, "../../fixtures/dragonfly-chart-1.7.4/dragonfly");

/** The stack's Helm post-renderer (the release's `postrender`). */
export const POST_RENDERER = path.resolve(__dirname, "../../../lib/cluster/helmPostRender.js");

/** The Kubernetes version Helm renders for: the API server the suite starts (scripts/tools.sh). */
export const KUBE_VERSION = "v1.33.13";

/** A Kubernetes object as rendered. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
    [k: string]: unknown;
}

export interface RenderedRelease {
    cfg: StackConfig;
    /** Objects `helm template` printed. */
    chartObjects: KubeObject[];
    /** The Namespace and the two Services the stack adds around the release. */
    stackObjects: KubeObject[];
    /** `helm template`'s output, verbatim. */
    text: string;
    /** The generated secrets, by the path the values file puts them at (e.g. mysql.auth.password). */
    secrets: Record<string, string>;
    /** Seconds `helm template` took. */
    renderSeconds: number;
}

/** A private HOME for Helm so that nothing reads or writes the user's Helm config. */
function helmEnv(home: string): NodeJS.ProcessEnv {
    return {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: path.join(home, "cache"),
        HELM_CONFIG_HOME: path.join(home, "config"),
        HELM_DATA_HOME: path.join(home, "data"),
    };
}

/** Runs the real helm; throws with its stderr on a non-zero exit. */
export function helm(args: string[], home: string): string {
    try {
        return execFileSync(toolPath("helm"), args, {
            env: helmEnv(home),
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
            stdio: ["ignore", "pipe", "pipe"],
        });
    } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new Error(`helm ${args.join(" ")} failed: ${err.stderr ?? ""}${err.stdout ?? ""}${err.message}`, {
            cause: e,
        });
    }
}

function leaves(v: unknown, at: string[], out: Record<string, string>): void {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
        for (const [k, c] of Object.entries(v)) {
            leaves(c, [...at, k], out);
        }
    } else if (typeof v === "string") {
        out[at.join(".")] = v;
    }
}

/** A fixed byte source, so "generated" secrets are known to the test and differ per seed. */
function seededRandom(seed: number): (n: number) => Buffer {
    let counter = 0;
    return (n: number) => {
        const chunks: Buffer[] = [];
        for (let have = 0; have < n; have += 32) {
            chunks.push(createHash("sha256").update(`${seed}:${counter++}`).digest());
        }
        return Buffer.concat(chunks).subarray(0, n);
    };
}

/** The render's files for `cfg` (with fixed "generated" secrets) in a new directory under `workDir`. */
function writeRender(cfg: StackConfig, workDir: string, seed: number): string {
    const files = renderStack(cfg, { proxyHost: "192.0.2.10", random: seededRandom(seed) });
    const dir = fs.mkdtempSync(path.join(workDir, "render-"));
    for (const f of files.filter((x) => !x.path.includes("/"))) {
        fs.writeFileSync(path.join(dir, f.path), f.content, { mode: f.mode });
    }
    return dir;
}

/** Helm arguments: the chart, the namespace, the Kubernetes version and the two values files. */
function chartArgs(cfg: StackConfig, dir: string): string[] {
    return [
        CHART_DIR,
        "--namespace",
        cfg.core.namespace,
        "--kube-version",
        KUBE_VERSION,
        "-f",
        path.join(dir, "values.yaml"),
        "-f",
        path.join(dir, "values.secrets.yaml"),
    ];
}

/** The values files, stack objects and `helm template` output for a stack config. */
export function renderRelease(cfg: StackConfig, workDir: string, seed = 1): RenderedRelease {
    const dir = writeRender(cfg, workDir, seed);
    const secrets: Record<string, string> = {};
    leaves(parse(fs.readFileSync(path.join(dir, "values.secrets.yaml"), "utf8")), [], secrets);

    const start = process.hrtime.bigint();
    // With the stack's post-renderer, as the release's `postrender` runs it.
    const text = helm(
        ["template", cfg.core.releaseName, ...chartArgs(cfg, dir), "--post-renderer", POST_RENDERER],
        path.join(workDir, "helm-home"),
    );
    const renderSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const chartObjects = parseAllDocuments(text)
        .map((d) => d.toJS() as KubeObject | null)
        .filter((o): o is KubeObject => o !== null && typeof o === "object" && typeof o.kind === "string");
    const stackObjects = ["namespace.yaml", "proxy-service.yaml", "console-service.yaml"].map(
        (p) => parse(fs.readFileSync(path.join(dir, p), "utf8")) as KubeObject,
    );
    if (cfg.core.proxy.ca !== undefined) {
        // The Secret the stack creates beside the release (render leaves it out: it holds the key).
        stackObjects.push(proxyCaSecretManifest(cfg.core, cfg.core.proxy.ca) as unknown as KubeObject);
    }
    return { cfg, chartObjects, stackObjects, text, secrets, renderSeconds };
}

/** `helm lint` of the chart with the stack's values; returns its output (throws on failure). */
export function lintRelease(cfg: StackConfig, workDir: string): string {
    return helm(["lint", ...chartArgs(cfg, writeRender(cfg, workDir, 7))], path.join(workDir, "helm-home"));
}

/** A stack config from raw keys, as the program parses them. */
export function stackConfig(raw: Record<string, unknown>): StackConfig {
    return parseStackConfig(raw);
}

/** A temporary working directory for one suite. */
export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
