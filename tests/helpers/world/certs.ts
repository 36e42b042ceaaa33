/**
 * Certificates made with openssl for one run: a CA, and leaf certificates it signs.
 */
import { join } from "path";
import { run } from "./exec";

export interface CertFiles {
    cert: string;
    key: string;
}

/** The arguments of `openssl req -x509` for a new EC P-256 key and certificate valid 2 days. */
export function newCertificateArgs(cert: string, key: string, subject: string, extra: string[]): string[] {
    return [
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
        subject,
        ...extra,
    ];
}

async function newCertificate(dir: string, file: string, subject: string, extra: string[]): Promise<CertFiles> {
    const cert = join(dir, `${file}.crt`);
    const key = join(dir, `${file}.key`);
    await run("openssl", newCertificateArgs(cert, key, subject, extra));
    return { cert, key };
}

/** A self-signed CA (EC P-256, valid 2 days). */
export function makeCa(dir: string, name: string): Promise<CertFiles> {
    return newCertificate(dir, `${name}-ca`, `/CN=${name} test CA`, [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
}

/** A server certificate for `ips` (subjectAltName IP entries), signed by `ca`. */
export function makeLeaf(dir: string, name: string, ca: CertFiles, ips: string[]): Promise<CertFiles> {
    return newCertificate(dir, name, `/CN=${name}`, [
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
}
