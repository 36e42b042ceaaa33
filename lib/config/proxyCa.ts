/**
 * `proxy.ca`: the CA the Dragonfly client proxy signs the certificates it intercepts HTTPS with.
 * With it, nodes in proxy mode trust that CA for the routed registries instead of skipping TLS
 * verification (the seed document's "valid HTTPS certificate" case). Pure: Node's crypto only.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "crypto";

import { fail, failSecret, optArray, optObject } from "./validate";

/** `proxy.ca`. */
export interface ProxyCaConfig {
    /**
     * The CA certificate, PEM (one certificate, `basicConstraints` CA:TRUE, valid now). Not a
     * secret: nodes get it. Required with `proxy.ca`.
     */
    certificate: string;
    /**
     * The CA's private key, PEM, matching the certificate. Set it with `pulumi config set --secret`;
     * it goes only into a Kubernetes Secret the client pods mount. Required with `proxy.ca`.
     */
    key: string;
    /**
     * More CA certificates (PEM, each CA:TRUE and valid now) that nodes trust beside
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

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?\r?\n-----END CERTIFICATE-----\r?\n?$/;

/** The certificate's SHA-256 fingerprint (colon-separated hex), as openssl prints it. */
export function caFingerprint(certificate: string): string {
    return new X509Certificate(certificate).fingerprint256;
}

const PEM_ALLOWED = "one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) of a CA";

/**
 * Checks one CA certificate at `key`: one PEM block, a certificate, CA:TRUE, valid at `now`.
 * Returns it with LF line ends and one final newline.
 */
function checkCaCertificate(key: string, value: unknown, now: Date): { pem: string; cert: X509Certificate } {
    if (typeof value !== "string" || !PEM_CERTIFICATE.test(value.trim() + "\n")) {
        fail(key, value, PEM_ALLOWED);
    }
    const pem = `${value.replace(/\r\n/g, "\n").trim()}\n`;
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(pem);
    } catch (e) {
        fail(key, "a PEM block that is not a certificate", `${PEM_ALLOWED} (${(e as Error).message})`);
    }
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
