/** How the Pulumi CLI sees `secure:` values in a stack file (tests/config/stackFile.test.ts, tests/real/pulumiCli.test.ts). */

/** Why `v` is not a ciphertext the CLI can decrypt ("" when it has the shape). */
export function ciphertextProblem(v: unknown): string {
    if (typeof v !== "string") {
        return "not a string";
    }
    const m = /^v1:([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/.exec(v);
    if (!m) {
        return "not v1:<base64>:<base64>";
    }
    if (Buffer.from(m[1], "base64").length !== 12) {
        return "the nonce is not 12 bytes";
    }
    // AES-GCM: at least the 16-byte tag plus one byte of plaintext.
    if (Buffer.from(m[2], "base64").length < 17) {
        return "the ciphertext is shorter than a GCM tag";
    }
    return "";
}

/** Every `secure:` value in a parsed stack file, with its path. */
export function secureValues(v: unknown, at: string[] = []): { at: string; value: unknown }[] {
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => secureValues(x, [...at, String(i)]));
    }
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (Object.keys(o).length === 1 && "secure" in o) {
            return [{ at: at.join("."), value: o.secure }];
        }
        return Object.entries(o).flatMap(([k, x]) => secureValues(x, [...at, k]));
    }
    return [];
}
