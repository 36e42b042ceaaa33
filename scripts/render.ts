/**
 * npm run render -- [--stack dev] [--out render/dev] [--proxy-address IP]
 *
 * Writes what the stack would apply for a stack's config (Pulumi.<stack>.yaml) into a folder:
 * Helm values, Service manifests, per-node scripts. No cluster, no Pulumi CLI.
 */
import * as fs from "fs";
import * as path from "path";

import { stackConfigFromFile } from "../lib/config/stackFile";
import { renderStack } from "../lib/render";

function arg(name: string, fallback?: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : fallback;
}

function main(): void {
    const stack = arg("stack", "dev") as string;
    const root = path.resolve(__dirname, "..");
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    const out = path.resolve(arg("out", path.join(root, "render", stack)) as string);
    const files = renderStack(stackConfigFromFile(fs.readFileSync(stackFile, "utf8")), {
        proxyHost: arg("proxy-address"),
    });
    fs.rmSync(out, { recursive: true, force: true });
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
