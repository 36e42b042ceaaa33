/**
 * lib/ is one folder per domain (docs/layout.md). A domain folder may use the shared modules
 * (the Dragonfly facts in lib/dragonfly.ts, lib/remote, lib/config) and a sibling domain only
 * through that sibling's index.ts; the facts module imports nothing of the project, and
 * lib/remote nothing of a domain.
 */
import * as fs from "fs";
import * as path from "path";

const LIB = path.resolve(__dirname, "../../lib");
const FACTS = "dragonfly.ts";
const SHARED_FOLDERS = ["remote", "config"];

function sourcesUnder(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return sourcesUnder(p);
        return /\.(ts|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
    });
}

/** The project-relative import specifiers of a TypeScript or JavaScript file. */
function relativeImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const found = [...text.matchAll(/(?:\bfrom\s+|\brequire\(\s*|\bimport\(\s*)["']([^"']+)["']/g)].map((m) => m[1]);
    return found.filter((s) => s.startsWith("."));
}

/** The file an import specifier names, relative to lib/ (e.g. `node/index.ts`). */
function resolved(file: string, spec: string): string {
    const base = path.resolve(path.dirname(file), spec);
    for (const candidate of [base, `${base}.ts`, `${base}.js`, path.join(base, "index.ts")]) {
        if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(LIB, candidate);
    }
    throw new Error(`${path.relative(LIB, file)}: cannot resolve ${spec}`);
}

/** Which part of lib/ a lib-relative path is in: the facts module, a folder, or outside lib. */
function partOf(rel: string): string {
    if (rel.startsWith("..")) return "(outside lib)";
    return rel.includes(path.sep) ? rel.split(path.sep)[0] : rel;
}

/** Every import in lib/ that breaks the folder rules, as "from -> to". */
function violations(): string[] {
    const bad: string[] = [];
    for (const file of sourcesUnder(LIB)) {
        const from = path.relative(LIB, file);
        const fromPart = partOf(from);
        for (const spec of relativeImports(file)) {
            const to = resolved(file, spec);
            const toPart = partOf(to);
            const edge = `${from} -> ${to}`;
            if (toPart === "(outside lib)") bad.push(`${edge} (lib imports nothing outside lib/)`);
            else if (fromPart === FACTS) bad.push(`${edge} (the facts module imports nothing of the project)`);
            else if (toPart === fromPart || toPart === FACTS) continue;
            else if (fromPart === "remote" && !SHARED_FOLDERS.includes(toPart)) {
                bad.push(`${edge} (lib/remote uses no domain)`);
            } else if (SHARED_FOLDERS.includes(toPart)) continue;
            else if (to !== path.join(toPart, "index.ts"))
                bad.push(`${edge} (a sibling's internals: use its index.ts)`);
        }
    }
    return bad;
}

describe("lib/ layout", () => {
    test("lib/ holds domain folders and the facts module only", () => {
        const files = fs.readdirSync(LIB, { withFileTypes: true }).filter((e) => !e.isDirectory());
        expect(files.map((e) => e.name)).toEqual([FACTS]);
    });

    test("no lib/ folder imports a sibling domain's internals", () => {
        expect(violations()).toEqual([]);
    });
});
