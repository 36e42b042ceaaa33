/**
 * docs/outputs.md is the stack's output contract: every export of index.ts is documented, every
 * documented output is exported, and under the mock engine each one has the
 * documented type and secrecy. Released names never disappear (no renames).
 */
import * as fs from "fs";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { freshProgram, recordResources, resolve } from "../helpers/mockEngine";

const ROOT = path.join(__dirname, "../..");
const DOC = fs.readFileSync(path.join(ROOT, "docs", "outputs.md"), "utf8");
const INDEX = fs.readFileSync(path.join(ROOT, "index.ts"), "utf8");

/**
 * Outputs that other stacks may already read. Never remove a name from this list: an output
 * that is renamed breaks every StackReference to it (docs/outputs.md, "adding an output never
 * renames one"). Append names when outputs are added.
 */
const RELEASED = [
    "namespace",
    "releaseName",
    "chartVersion",
    "releaseStatus",
    "proxyAddress",
    "proxyUrl",
    "consoleNodePort",
    "consoleUrl",
    "noProxy",
    "configuredNodes",
    "consoleCredentials",
    "verification",
    "proxyCaCertificate",
    "agentNodes",
];

interface DocumentedOutput {
    name: string;
    type: string;
    secret: boolean;
    meaning: string;
}

/** Splits a Markdown table row on unescaped pipes and unescapes `\|`. */
function cells(line: string): string[] {
    return line
        .trim()
        .replace(/^\||\|$/g, "")
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** The table (name, type, secrecy) and, below it, one "- `name`: meaning" item per output. */
function parseTable(doc: string): DocumentedOutput[] {
    const lines = doc.split("\n");
    const header = lines.findIndex((l) => /^\|\s*Output\s*\|/.test(l));
    if (header < 0) {
        throw new Error("docs/outputs.md has no table with an Output column");
    }
    expect(cells(lines[header])).toEqual(["Output", "Type", "Secret"]);
    const rows: DocumentedOutput[] = [];
    let i = header + 2;
    for (; i < lines.length && lines[i].startsWith("|"); i++) {
        const [name, type, secret] = cells(lines[i]);
        const n = /^`(\w+)`$/.exec(name);
        const t = /^`([^`]+)`/.exec(type);
        if (n === null || t === null || !["yes", "no"].includes(secret)) {
            throw new Error(`docs/outputs.md: malformed row: ${lines[i]}`);
        }
        rows.push({ name: n[1], type: t[1], secret: secret === "yes", meaning: "" });
    }
    // Meanings: list items, continued on indented lines.
    let current: DocumentedOutput | undefined;
    for (; i < lines.length && !lines[i].startsWith("#"); i++) {
        const item = /^- `(\w+)`: (.*)$/.exec(lines[i]);
        if (item) {
            current = rows.find((r) => r.name === item[1]);
            if (current === undefined) {
                throw new Error(`docs/outputs.md: meaning of ${item[1]}, which the table does not list`);
            }
            current.meaning = item[2];
        } else if (current && /^ {2}\S/.test(lines[i])) {
            current.meaning += ` ${lines[i].trim()}`;
        } else {
            current = undefined;
        }
    }
    return rows;
}

// --- A small parser and checker for the TypeScript-notation types of the table. ---

type TypeNode =
    | { kind: "prim"; name: "string" | "number" | "boolean" | "undefined" | "null" }
    | { kind: "literal"; value: string }
    | { kind: "array"; of: TypeNode }
    | { kind: "object"; fields: Record<string, TypeNode> }
    | { kind: "union"; of: TypeNode[] };

function parseType(text: string, named: Record<string, string> = {}): TypeNode {
    const tokens = text.match(/"[^"]*"|[A-Za-z_]\w*|\[\]|[{}:;|]/g) ?? [];
    let i = 0;
    const peek = () => tokens[i];
    const take = (want?: string) => {
        const t = tokens[i++];
        if (t === undefined || (want !== undefined && t !== want)) {
            throw new Error(`type ${JSON.stringify(text)}: expected ${want ?? "more"} at token ${i}, got ${t}`);
        }
        return t;
    };
    const union = (): TypeNode => {
        const of = [postfix()];
        while (peek() === "|") {
            take("|");
            of.push(postfix());
        }
        return of.length === 1 ? of[0] : { kind: "union", of };
    };
    const postfix = (): TypeNode => {
        let t = primary();
        while (peek() === "[]") {
            take("[]");
            t = { kind: "array", of: t };
        }
        return t;
    };
    const primary = (): TypeNode => {
        const t = take();
        if (t === "{") {
            const fields: Record<string, TypeNode> = {};
            while (peek() !== "}") {
                const key = take();
                take(":");
                fields[key] = union();
                if (peek() === ";") {
                    take(";");
                }
            }
            take("}");
            return { kind: "object", fields };
        }
        if (t === "string" || t === "number" || t === "boolean" || t === "undefined" || t === "null") {
            return { kind: "prim", name: t };
        }
        if (t.startsWith('"')) {
            return { kind: "literal", value: t.slice(1, -1) };
        }
        if (named[t] !== undefined) {
            return parseType(named[t], named);
        }
        throw new Error(`type ${JSON.stringify(text)}: unknown type ${t}`);
    };
    const node = union();
    if (i !== tokens.length) {
        throw new Error(`type ${JSON.stringify(text)}: trailing tokens`);
    }
    return node;
}

/** Where `value` does not match `type`, or undefined when it does. */
function mismatch(value: unknown, type: TypeNode, at: string): string | undefined {
    switch (type.kind) {
        case "prim": {
            const ok =
                type.name === "undefined"
                    ? value === undefined
                    : type.name === "null"
                      ? value === null
                      : typeof value === type.name;
            return ok ? undefined : `${at}: expected ${type.name}, got ${JSON.stringify(value)}`;
        }
        case "literal":
            return value === type.value
                ? undefined
                : `${at}: expected ${JSON.stringify(type.value)}, got ${JSON.stringify(value)}`;
        case "array":
            if (!Array.isArray(value)) {
                return `${at}: expected an array, got ${JSON.stringify(value)}`;
            }
            return value.map((v, k) => mismatch(v, type.of, `${at}[${k}]`)).find((m) => m !== undefined);
        case "object": {
            if (value === null || typeof value !== "object" || Array.isArray(value)) {
                return `${at}: expected an object, got ${JSON.stringify(value)}`;
            }
            const extra = Object.keys(value).filter((k) => !(k in type.fields));
            if (extra.length > 0) {
                return `${at}: undocumented fields ${extra.join(", ")}`;
            }
            return Object.entries(type.fields)
                .map(([k, t]) => mismatch((value as Record<string, unknown>)[k], t, `${at}.${k}`))
                .find((m) => m !== undefined);
        }
        case "union":
            return type.of.some((t) => mismatch(value, t, at) === undefined)
                ? undefined
                : `${at}: ${JSON.stringify(value)} matches none of the documented alternatives`;
    }
}

/** Named types defined in the doc as "`Name`:" followed by a ```ts block. */
function namedTypes(doc: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of doc.matchAll(/^`(\w+)`:\s*\n+```ts\n([\s\S]*?)```/gm)) {
        out[m[1]] = m[2].replace(/\/\/.*$/gm, "");
    }
    return out;
}

const documented = parseTable(DOC);
const NAMED = namedTypes(DOC);
const exported = [...INDEX.matchAll(/^export const (\w+)\b/gm)].map((m) => m[1]);

describe("docs/outputs.md", () => {
    test("lists each output once, with a parseable type and a meaning", () => {
        const names = documented.map((d) => d.name);
        expect(new Set(names).size).toBe(names.length);
        for (const d of documented) {
            expect(() => parseType(d.type, NAMED)).not.toThrow();
            expect(d.meaning.length).toBeGreaterThan(20);
        }
        // The named type of the table is defined.
        expect(Object.keys(NAMED)).toEqual(["Verification"]);
    });

    test("states the no-rename rule", () => {
        expect(DOC).toContain("**Adding an output never renames one.**");
    });

    test("every export of index.ts is documented, and every documented output is exported", () => {
        expect(exported.length).toBeGreaterThan(0);
        expect(documented.map((d) => d.name).sort()).toEqual([...exported].sort());
    });

    test("released outputs are never renamed or dropped", () => {
        for (const name of RELEASED) {
            expect({ name, exported: exported.includes(name) }).toEqual({ name, exported: true });
            expect({ name, documented: documented.some((d) => d.name === name) }).toEqual({ name, documented: true });
        }
    });

    test("the node, console and verification outputs are documented with their names and types", () => {
        const planned = Object.fromEntries(documented.map((d) => [d.name, d.type]));
        expect(planned.noProxy).toBe("string");
        expect(planned.configuredNodes).toBe("string[]");
        expect(parseType(planned.consoleCredentials, NAMED)).toEqual({
            kind: "union",
            of: [
                {
                    kind: "object",
                    fields: { username: { kind: "prim", name: "string" }, password: { kind: "prim", name: "string" } },
                },
                { kind: "prim", name: "undefined" },
            ],
        });
        expect(documented.find((d) => d.name === "consoleCredentials")?.secret).toBe(true);
        const verification = parseType(NAMED.Verification);
        expect(verification).toMatchObject({ kind: "object" });
        const fields = (verification as { fields: Record<string, TypeNode> }).fields;
        expect(Object.keys(fields)).toEqual([
            "image",
            "node",
            "runtime",
            "pullSeconds",
            "removedPreviousCopy",
            "throughDragonfly",
            "proxyRequests",
            "layerBytes",
            "metricsSources",
            "traffic",
        ]);
        expect(fields.runtime).toEqual({
            kind: "union",
            of: [
                { kind: "literal", value: "containerd" },
                { kind: "literal", value: "docker" },
            ],
        });
        const traffic = fields.traffic as { kind: "union"; of: TypeNode[] };
        expect(traffic.of[1]).toEqual({ kind: "prim", name: "null" });
        expect(Object.keys((traffic.of[0] as { fields: Record<string, TypeNode> }).fields)).toEqual([
            "remotePeer",
            "localPeer",
            "backToSource",
        ]);
    });

    test("the type checker itself tells matching from mismatching values", () => {
        const t = parseType("{ a: string; b: number[] } | undefined");
        expect(mismatch(undefined, t, "x")).toBeUndefined();
        expect(mismatch({ a: "s", b: [1, 2] }, t, "x")).toBeUndefined();
        expect(mismatch({ a: "s", b: ["1"] }, t, "x")).toBeDefined();
        expect(mismatch({ a: "s", b: [], c: 1 }, t, "x")).toBeDefined();
        expect(mismatch("s", parseType("number"), "x")).toBe('x: expected number, got "s"');
        const runtime = parseType('"containerd" | "docker" | null');
        expect(mismatch("docker", runtime, "r")).toBeUndefined();
        expect(mismatch(null, runtime, "r")).toBeUndefined();
        expect(mismatch("crio", runtime, "r")).toBeDefined();
        expect(mismatch(undefined, runtime, "r")).toBeDefined();
    });
});

describe("index.ts outputs under the mock engine", () => {
    test("each available output has the documented type and secrecy", async () => {
        recordResources({ preview: false });
        pulumi.runtime.setAllConfig({
            "dragonfly-cce:nodePool": "test-dragonfly-nodepool",
            // A node address, so the optional consoleUrl is present and its type is checked too.
            "dragonfly-cce:console": JSON.stringify({ nodeAddress: "192.168.0.10" }),
        });
        const out: Record<string, pulumi.Output<unknown>> = freshProgram(() => require("../../index"));
        for (const d of documented) {
            const output = out[d.name];
            expect({ name: d.name, isOutput: pulumi.Output.isInstance(output) }).toEqual({
                name: d.name,
                isOutput: true,
            });
            const value = await resolve(output);
            expect({ name: d.name, mismatch: mismatch(value, parseType(d.type, NAMED), d.name) }).toEqual({
                name: d.name,
                mismatch: undefined,
            });
            expect({ name: d.name, secret: await pulumi.isSecret(output) }).toEqual({ name: d.name, secret: d.secret });
        }
        expect(await resolve(out.consoleUrl)).toMatch(/^http:\/\/192\.168\.0\.10:\d+$/);
    });
});
