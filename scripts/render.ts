/**
 * npm run render -- [--stack dev] [--out render/dev] [--proxy-address IP]
 *
 * Writes what the stack would apply for a stack's config (Pulumi.<stack>.yaml) into a folder:
 * Helm values, Service manifests, per-node scripts. No cluster, no Pulumi CLI.
 *
 * The folder is replaced as a whole (a node removed from the config loses its scripts), so render
 * marks the folders it writes and refuses to empty a folder that holds anything else.
 */
import * as fs from "fs";
import * as path from "path";

import { stackConfigFromFile } from "../lib/config/stackFile";
import { renderStack } from "../lib/render";

function arg(name: string, fallback?: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0) {
        return fallback;
    }
    const value = process.argv[i + 1];
    if (value === undefined || value.startsWith("--")) {
        throw new Error(`--${name} needs a value`);
    }
    return value;
}

/** The file that marks a folder render wrote, so a later render may replace it. */
const MARKER = ".dragonfly-cce-render";

/**
 * Empties `out` for a new render: a folder render wrote before (it holds {@link MARKER}), an empty
 * folder or none. Anything else is refused: `--out` given by mistake must not delete a user's files.
 */
function prepareOut(out: string): void {
    let stat: fs.Stats;
    try {
        stat = fs.lstatSync(out);
    } catch {
        return;
    }
    if (!stat.isDirectory()) {
        throw new Error(`--out ${out}: not a directory; give a new or empty directory, or one render wrote`);
    }
    const entries = fs.readdirSync(out);
    if (entries.length > 0 && !entries.includes(MARKER)) {
        throw new Error(
            `--out ${out}: a directory that is not empty and that render did not write (no ${MARKER} in it); ` +
                "give a new or empty directory, or one render wrote (render replaces it whole)",
        );
    }
    fs.rmSync(out, { recursive: true, force: true });
}

function main(): void {
    const stack = arg("stack", "dev") as string;
    const root = path.resolve(__dirname, "..");
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    const out = path.resolve(arg("out", path.join(root, "render", stack)) as string);
    const files = renderStack(stackConfigFromFile(fs.readFileSync(stackFile, "utf8")), {
        proxyHost: arg("proxy-address"),
    });
    prepareOut(out);
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, MARKER), "Written by npm run render; the next render replaces this directory.\n");
    for (const f of files) {
        const p = path.join(out, f.path);
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, f.content, { mode: f.mode });
        fs.chmodSync(p, f.mode);
    }
    process.stdout.write(
        `render: ${files.length} files for stack ${stack} in ${path.relative(process.cwd(), out) || "."}\n`,
    );
}

try {
    main();
} catch (e) {
    process.stderr.write(`render: ${(e as Error).message}\n`);
    process.exit(1);
}
