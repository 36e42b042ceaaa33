/**
 * Certificates for the `proxy.ca` tests, made with openssl once per test file (synchronously,
 * EC P-256, valid 2 days): a CA, another CA, and a server certificate that is no CA.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { newCertificateArgs } from "./world/certs";

export interface Pem {
    certificate: string;
    key: string;
}

function openssl(args: string[]): void {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
    }
}

function certificate(dir: string, name: string, extra: string[]): Pem {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    openssl(newCertificateArgs(cert, key, `/CN=${name}`, extra));
    return { certificate: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

let made: { ca: Pem; otherCa: Pem; leaf: Pem } | undefined;

/** The three test certificates (made on first use). */
export function testCertificates(): { ca: Pem; otherCa: Pem; leaf: Pem } {
    if (made === undefined) {
        const dir = mkdtempSync(join(tmpdir(), "dfcce-ca-"));
        try {
            const ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"];
            made = {
                ca: certificate(dir, "dragonfly-proxy-test-ca", ca),
                otherCa: certificate(dir, "other-test-ca", ca),
                leaf: certificate(dir, "not-a-ca", ["-addext", "basicConstraints=critical,CA:FALSE"]),
            };
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }
    return made;
}
