/**
 * `proxy.ca`: the CA the Dragonfly client proxy signs the certificates it intercepts HTTPS with.
 * With it, nodes in proxy mode trust that CA for the routed registries instead of skipping TLS
 * verification (the seed document's "valid HTTPS certificate" case). Pure: Node's crypto only.
 */
import { createPrivateKey, KeyObject, X509Certificate } from "crypto";

import { fail, failSecret, optObject } from "./validate";

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

/** Parses `proxy.ca`; undefined when unset. `now` is the time validity is checked against. */
export function parseProxyCa(value: unknown, now: Date = new Date()): ProxyCaConfig | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    const o = optObject("proxy.ca", value, ["certificate", "key"]);
    const certKey = "proxy.ca.certificate";
    const pemAllowed = "one PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) of a CA";
    if (typeof o.certificate !== "string" || !PEM_CERTIFICATE.test(o.certificate.trim() + "\n")) {
        fail(certKey, o.certificate, pemAllowed);
    }
    const certificate = `${o.certificate.replace(/\r\n/g, "\n").trim()}\n`;
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(certificate);
    } catch (e) {
        fail(certKey, "a PEM block that is not a certificate", `${pemAllowed} (${(e as Error).message})`);
    }
    if (!cert.ca) {
        fail(
            certKey,
            `the certificate of ${cert.subject.replace(/\n/g, ", ")}`,
            `${pemAllowed}: basicConstraints CA:TRUE`,
        );
    }
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) <= now) {
        fail(
            certKey,
            `a certificate valid from ${cert.validFrom} to ${cert.validTo}`,
            `a CA certificate valid now (${now.toISOString()})`,
        );
    }
    const keyAllowed =
        "the CA's private key in PEM (-----BEGIN PRIVATE KEY-----, EC or RSA), matching proxy.ca.certificate, set with `pulumi config set --secret`";
    if (typeof o.key !== "string" || o.key.trim() === "") {
        failSecret("proxy.ca.key", keyAllowed);
    }
    if (o.key === KEY_NOT_RENDERED) {
        return { certificate, key: KEY_NOT_RENDERED };
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
    return { certificate, key: `${o.key.trim()}\n` };
}
