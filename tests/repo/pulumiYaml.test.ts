/** Pulumi.yaml declares the scalar config keys with the types and defaults the program uses. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

import { parseCoreConfig } from "../../lib/cluster/config";
import { STACK_CONFIG_KEYS } from "../../lib/config";
import { CONFIG_NAMESPACE } from "../../lib/config/validate";

const project = parse(fs.readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8"));

describe("Pulumi.yaml", () => {
    test("names the project after the config namespace and runs TypeScript on Node.js", () => {
        expect(project.name).toBe(CONFIG_NAMESPACE);
        expect(project.runtime.name).toBe("nodejs");
        expect(project.runtime.options.typescript).toBe(true);
    });

    test("declares only keys the program reads, each with a type and a description", () => {
        for (const [key, decl] of Object.entries<any>(project.config)) {
            expect((STACK_CONFIG_KEYS as readonly string[]).includes(key) ? key : `unknown ${key}`).toBe(key);
            expect(["string", "integer", "boolean"]).toContain(decl.type);
            expect(String(decl.description).length).toBeGreaterThan(10);
        }
    });

    test("the declared defaults are the program's defaults, and only nodePool is required", () => {
        const defaults = parseCoreConfig({ nodePool: "p" }) as unknown as Record<string, unknown>;
        const required = Object.entries<any>(project.config).filter(([, d]) => d.default === undefined);
        expect(required.map(([k]) => k)).toEqual(["nodePool"]);
        for (const [key, decl] of Object.entries<any>(project.config)) {
            if (decl.default !== undefined) {
                expect({ key, value: decl.default }).toEqual({ key, value: defaults[key] });
            }
        }
    });

    test("the CLI's text form of each declared default parses to the same config", () => {
        // The CLI hands the program every value as text: "true", "900".
        const asText = Object.fromEntries(
            Object.entries<any>(project.config)
                .filter(([, d]) => d.default !== undefined)
                .map(([k, d]) => [k, String(d.default)]),
        );
        expect(parseCoreConfig({ nodePool: "p", ...asText })).toEqual(parseCoreConfig({ nodePool: "p" }));
    });
});
