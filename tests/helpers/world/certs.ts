/**
 * Certificates made with openssl for one run: a CA, and leaf certificates it signs.
 */
import { join } from "path";
import { run } from "./exec";

export interface CertFiles {
    cert: string;
    key: string;
}

/** A self-signed CA (EC P-256, valid 2 days). */
export async function makeCa(dir: string, name: string): Promise<CertFiles> {
    const cert = join(dir, `${name}-ca.crt`);
    const key = join(dir, `${name}-ca.key`);
    await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        `/CN=${name} test CA`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    return { cert, key };
}

/** A server certificate for `ips` (subjectAltName IP entries), signed by `ca`. */
export async function makeLeaf(dir: string, name: string, ca: CertFiles, ips: string[]): Promise<CertFiles> {
    const cert = join(dir, `${name}.crt`);
    const key = join(dir, `${name}.key`);
    await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-CA",
        ca.cert,
        "-CAkey",
        ca.key,
        "-addext",
        `subjectAltName=${ips.map((i) => `IP:${i}`).join(",")}`,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    return { cert, key };
}
