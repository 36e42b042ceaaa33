/**
 * The example stack file loads in the real Pulumi CLI as shipped: the CLI decrypts every
 * `secure:` value when it loads a stack, so each one must be real ciphertext of the CLI's shape
 * (`v1:<base64 12-byte nonce>:<base64 AES-GCM ciphertext>`), or absent.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

import { parseStackConfig } from "../../lib/config";
import { configFromStackFile } from "../../lib/config/stackFile";
import { ConfigError } from "../../lib/config/validate";
import { ciphertextProblem, secureValues } from "../helpers/stackFile";

const ROOT = path.resolve(__dirname, "../..");

const stackFiles = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

describe("stack files as the Pulumi CLI loads them", () => {
    test("there is the example stack file", () => {
        expect(stackFiles).toContain("Pulumi.dev.yaml");
    });

    test.each(stackFiles)("every secure: value in %s is real ciphertext (or there is none)", (file) => {
        const doc = parse(fs.readFileSync(path.join(ROOT, file), "utf8"));
        const problems = secureValues(doc.config ?? {})
            .map((s) => ({ at: s.at, problem: ciphertextProblem(s.value) }))
            .filter((p) => p.problem !== "");
        expect(problems).toEqual([]);
    });

    test("the check refuses the old placeholder and accepts the CLI's shape", () => {
        expect(ciphertextProblem("v1:REPLACE-WITH-pulumi-config-set---secret")).not.toBe("");
        expect(ciphertextProblem("v1:AAAAAAAAAAAAAAAA:AAAA")).toBe("the ciphertext is shorter than a GCM tag");
        // What `pulumi config set --secret` writes with the passphrase secrets provider.
        expect(ciphertextProblem("v1:6hYnTdSa8Lrbx0VV:aBX9AbJDqX1nGNmWGBfv0pOsn6jVpxCvjt3jbA==")).toBe("");
    });

    test("Pulumi.dev.yaml says how to set the SSH key, and without it the program's own error says what is missing", () => {
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
        expect(text).toContain("pulumi config set --secret --path 'dragonfly-cce:ssh.privateKey' < ");
        const raw: Record<string, unknown> = {};
        for (const [k, v] of Object.entries<unknown>(parse(text).config)) {
            raw[k.replace(/^dragonfly-cce:/, "")] = v;
        }
        expect(() => parseStackConfig(raw)).toThrow(ConfigError);
        expect(() => parseStackConfig(raw)).toThrow(
            /dragonfly-cce:ssh: .*allowed: ssh\.privateKey or ssh\.password \(secrets\) when nodes are listed/,
        );
        // npm run render needs no credentials: the same file renders.
        expect(() => parseStackConfig(configFromStackFile(text))).not.toThrow();
    });
});
