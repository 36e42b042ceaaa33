/**
 * `proxy.ca`: the CA the Dragonfly client proxy signs the certificates it intercepts HTTPS with.
 * With it, nodes in proxy mode trust that CA for the routed registries instead of skipping TLS
 * verification (the seed document's "valid HTTPS certificate" case). Pure: Node's crypto only.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "crypto";

import { ConfigError, fail, failSecret, optArray, optObject, show } from "./validate";

/** `proxy.ca`. */
export interface ProxyCaConfig {
    /**
     * The CA certificate, PEM (exactly one certificate, `basicConstraints` CA:TRUE, valid now;
     * re-encoded from its DER). Not a secret: nodes get it. Required with `proxy.ca`.
     */
    certificate: string;
    /**
     * The CA's private key, PEM, matching the certificate. Set it with `pulumi config set --secret`;
     * it goes only into a Kubernetes Secret the client pods mount. Required with `proxy.ca`.
     */
    key: string;
    /**
     * More CA certificates (PEM, one per entry, each CA:TRUE and valid now) that nodes trust beside
     * `certificate`, for a rotation without failed pulls (see the README). Default: none.
     */
    alsoTrust: string[];
}

/**
 * What `npm run render`'s stack-file reader puts in place of a `secure:` proxy.ca.key, which only
 * the Pulumi CLI can decrypt (render needs only the certificate). Not a PEM key, so the Pulumi
 * path, which always has the decrypted key, never matches it.
 */
export const KEY_NOT_RENDERED = "(proxy.ca.key is a secure value: not rendered)";

/** The certificate's SHA-256 fingerprint (colon-separated hex), as openssl prints it. */
export function caFingerprint(certificate: string): string {
    return new X509Certificate(certificate).fingerprint256;
}

const PEM_ALLOWED = "one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) of a CA";
const ONE_PER_ENTRY = "; more CA certificates for the nodes go in proxy.ca.alsoTrust, one per entry";
const PEM_BEGIN = /^-----BEGIN ([A-Z0-9 ]{1,40})-----$/;

/** Refuses `key` with a description of its value (never the value: it may hold a private key). */
function refuse(key: string, description: string, allowed: string): never {
    throw new ConfigError(key, show(description), allowed);
}

/**
 * The one certificate of a PEM text, re-encoded from its DER (64-column base64, LF line ends, one
 * final newline): what nodes trust and outputs show is exactly a certificate, never other text.
 * Taken: surrounding blank lines, CRLF line ends and trailing blanks on a line. Refused: a second
 * PEM block (another certificate, a private key), text outside the block, a line that is not
 * base64, DER that is not exactly one certificate.
 */
function onePemCertificate(key: string, value: string): { pem: string; cert: X509Certificate } {
    const lines = value
        .trim()
        .split("\n")
        .map((l) => l.replace(/\s+$/, ""));
    const labels = lines.flatMap((l) => PEM_BEGIN.exec(l)?.[1] ?? []);
    if (labels.length === 0) {
        fail(key, value, PEM_ALLOWED);
    }
    if (labels.length > 1) {
        refuse(key, `${labels.length} PEM blocks: ${labels.join(", ")}`, PEM_ALLOWED + ONE_PER_ENTRY);
    }
    if (labels[0] !== "CERTIFICATE") {
        fail(key, value, PEM_ALLOWED);
    }
    if (lines[0] !== "-----BEGIN CERTIFICATE-----" || lines[lines.length - 1] !== "-----END CERTIFICATE-----") {
        refuse(key, "a PEM certificate with text outside the PEM block", PEM_ALLOWED + ONE_PER_ENTRY);
    }
    const body = lines.slice(1, -1);
    const der = Buffer.from(body.join(""), "base64");
    if (
        body.length === 0 ||
        body.some((l) => !/^[A-Za-z0-9+/=]+$/.test(l)) ||
        der.toString("base64") !== body.join("")
    ) {
        refuse(key, "a PEM certificate with a line that is not base64", PEM_ALLOWED);
    }
    const pem = `-----BEGIN CERTIFICATE-----\n${der
        .toString("base64")
        .replace(/.{64}/g, "$&\n")
        .replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(pem);
    } catch (e) {
        refuse(key, "a PEM block that is not a certificate", `${PEM_ALLOWED} (${(e as Error).message})`);
    }
    if (!cert.raw.equals(der)) {
        refuse(key, "a PEM block with more than a certificate in it", PEM_ALLOWED);
    }
    return { pem, cert };
}

/**
 * Checks one CA certificate at `key`: exactly one PEM block, a certificate, CA:TRUE, valid at
 * `now`. Returns it re-encoded (see {@link onePemCertificate}).
 */
function checkCaCertificate(key: string, value: unknown, now: Date): { pem: string; cert: X509Certificate } {
    if (typeof value !== "string") {
        fail(key, value, PEM_ALLOWED);
    }
    const { pem, cert } = onePemCertificate(key, value);
    if (!cert.ca) {
        fail(
            key,
            `the certificate of ${cert.subject.replace(/\n/g, ", ")}`,
            `${PEM_ALLOWED}: basicConstraints CA:TRUE`,
        );
    }
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) <= now) {
        fail(
            key,
            `a certificate valid from ${cert.validFrom} to ${cert.validTo}`,
            `a CA certificate valid now (${now.toISOString()})`,
        );
    }
    return { pem, cert };
}

/** What nodes trust: the CA the proxy signs with, then `alsoTrust` (one PEM bundle). */
export function trustedCaBundle(ca: Pick<ProxyCaConfig, "certificate" | "alsoTrust">): string {
    return [ca.certificate, ...ca.alsoTrust].join("");
}

/** Parses `proxy.ca`; undefined when unset. `now` is the time validity is checked against. */
export function parseProxyCa(value: unknown, now: Date = new Date()): ProxyCaConfig | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    const o = optObject("proxy.ca", value, ["certificate", "key", "alsoTrust"]);
    const { pem: certificate, cert } = checkCaCertificate("proxy.ca.certificate", o.certificate, now);
    const alsoTrust = optArray("proxy.ca.alsoTrust", o.alsoTrust, (k, v) => {
        const trusted = checkCaCertificate(k, v, now).pem;
        if (trusted === certificate) {
            fail(k, "proxy.ca.certificate again", "another CA certificate than proxy.ca.certificate");
        }
        return trusted;
    });
    const keyAllowed =
        "the CA's private key in PEM (-----BEGIN PRIVATE KEY-----, EC or RSA), matching proxy.ca.certificate, set with `pulumi config set --secret`";
    if (typeof o.key !== "string" || o.key.trim() === "") {
        failSecret("proxy.ca.key", keyAllowed);
    }
    if (o.key === KEY_NOT_RENDERED) {
        return { certificate, key: KEY_NOT_RENDERED, alsoTrust };
    }
    let key: KeyObject;
    try {
        key = createPrivateKey(o.key);
    } catch {
        failSecret("proxy.ca.key", keyAllowed);
    }
    if (!cert.checkPrivateKey(key)) {
        failSecret("proxy.ca.key", `${keyAllowed}: this key does not belong to that certificate`);
    }
    return { certificate, key: `${o.key.trim()}\n`, alsoTrust };
}
