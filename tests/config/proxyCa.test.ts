/**
 * `proxy.ca`: parsing and every refusal at preview time, with the key named and the CA's private
 * key never shown.
 */
import { parseCoreConfig } from "../../lib/cluster/config";
import { caFingerprint, parseProxyCa, trustedCaBundle } from "../../lib/config/proxyCa";
import { applyScript } from "../../lib/node/scripts";
import { configErrorOf } from "../helpers/configError";
import { testCertificates } from "../helpers/testCa";

const { ca, otherCa, leaf } = testCertificates();
const core = (proxy: unknown) => parseCoreConfig({ nodePool: "pool", proxy });
/** No message may contain any line of a private key's base64. */
const keyLines = [ca.key, otherCa.key, leaf.key].flatMap((k) =>
    k.split("\n").filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l)),
);

describe("proxy.ca", () => {
    test("unset by default; a CA certificate with its key is taken, ends with one newline", () => {
        expect(core({}).proxy.ca).toBeUndefined();
        const parsed = core({ ca: { certificate: `\n${ca.certificate}\n\n`, key: ca.key } }).proxy.ca;
        expect(parsed).toEqual({ certificate: ca.certificate, key: ca.key, alsoTrust: [] });
        expect(caFingerprint(ca.certificate)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    });

    test.each<[string, unknown, string, RegExp, RegExp]>([
        ["no certificate", { key: ca.key }, "proxy.ca.certificate", /^nothing/, /one PEM certificate/],
        ["text that is no PEM", { certificate: "my-ca", key: ca.key }, "proxy.ca.certificate", /^"my-ca"$/, /PEM/],
        [
            "a PEM block that does not parse",
            { certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key: ca.key },
            "proxy.ca.certificate",
            /not a certificate/,
            /PEM certificate/,
        ],
        [
            "a server certificate (no CA)",
            { certificate: leaf.certificate, key: leaf.key },
            "proxy.ca.certificate",
            /CN=not-a-ca/,
            /basicConstraints CA:TRUE/,
        ],
        [
            "the private key in the certificate's place",
            { certificate: ca.key, key: ca.key },
            "proxy.ca.certificate",
            /value hidden: it looks like a private key/,
            /PEM certificate/,
        ],
        ["no key", { certificate: ca.certificate }, "proxy.ca.key", /^\[secret\]$/, /private key in PEM/],
        [
            "a key that is no key",
            { certificate: ca.certificate, key: "hunter2" },
            "proxy.ca.key",
            /^\[secret\]$/,
            /PEM/,
        ],
        [
            "another CA's key",
            { certificate: ca.certificate, key: otherCa.key },
            "proxy.ca.key",
            /^\[secret\]$/,
            /does not belong to that certificate/,
        ],
        [
            "an unknown key",
            { certificate: ca.certificate, key: ca.key, cert: "x" },
            "proxy.ca.cert",
            /./,
            /no such key/,
        ],
    ])("%s is refused at preview, naming the key", (_what, value, key, shown, allowed) => {
        const e = configErrorOf(() => core({ ca: value }));
        expect(e.key).toBe(key);
        expect(e.value).toMatch(shown);
        expect(e.allowed).toMatch(allowed);
        for (const line of keyLines) {
            expect(e.message).not.toContain(line);
        }
    });

    test("alsoTrust: more CAs the nodes trust, after the signing one in the bundle", () => {
        const parsed = core({
            ca: { certificate: ca.certificate, key: ca.key, alsoTrust: [otherCa.certificate] },
        }).proxy.ca!;
        expect(parsed.alsoTrust).toEqual([otherCa.certificate]);
        expect(trustedCaBundle(parsed)).toBe(ca.certificate + otherCa.certificate);
        const bad = (previous: unknown) =>
            configErrorOf(() => core({ ca: { certificate: ca.certificate, key: ca.key, alsoTrust: previous } }));
        expect(bad(otherCa.certificate).key).toBe("proxy.ca.alsoTrust");
        expect(bad([otherCa.certificate, leaf.certificate])).toMatchObject({
            key: "proxy.ca.alsoTrust[1]",
            allowed: expect.stringContaining("basicConstraints CA:TRUE"),
        });
        expect(bad([ca.certificate])).toMatchObject({
            key: "proxy.ca.alsoTrust[0]",
            allowed: "another CA certificate than proxy.ca.certificate",
        });
        for (const line of keyLines) {
            expect(bad([leaf.key]).message).not.toContain(line);
        }
    });

    test.each<[string, string, RegExp]>([
        ["a second CA certificate", ca.certificate + otherCa.certificate, /^"2 PEM blocks: CERTIFICATE, CERTIFICATE"$/],
        ["a server certificate after the CA", ca.certificate + leaf.certificate, /^"2 PEM blocks/],
        [
            "a private key between two certificates",
            ca.certificate + ca.key + otherCa.certificate,
            /^"3 PEM blocks: CERTIFICATE, PRIVATE KEY, CERTIFICATE"$/,
        ],
        ["text before the certificate", `subject=CN = x\n${ca.certificate}`, /text outside the PEM block/],
        ["text after the certificate", `${ca.certificate}junk\n`, /text outside the PEM block/],
        [
            "a line that is not base64 inside the block",
            ca.certificate.replace(/\n(?=[A-Za-z0-9+/])/, "\nnot base64!\n"),
            /not base64/,
        ],
    ])(
        "proxy.ca.certificate with %s is refused, only one certificate is checked and trusted",
        (_w, certificate, shown) => {
            const e = configErrorOf(() => core({ ca: { certificate, key: ca.key } }));
            expect(e.key).toBe("proxy.ca.certificate");
            expect(e.value).toMatch(shown);
            expect(e.allowed).toMatch(/one PEM certificate/);
            for (const line of keyLines) {
                expect(e.message).not.toContain(line);
            }
            const also = configErrorOf(() =>
                core({ ca: { certificate: ca.certificate, key: ca.key, alsoTrust: [leaf.certificate, certificate] } }),
            );
            expect(also.key).toBe("proxy.ca.alsoTrust[0]");
            const second = configErrorOf(() =>
                core({
                    ca: {
                        certificate: ca.certificate,
                        key: ca.key,
                        alsoTrust: [otherCa.certificate + "\n", certificate],
                    },
                }),
            );
            expect(second.key).toBe("proxy.ca.alsoTrust[1]");
            expect(second.value).toMatch(shown);
            for (const line of keyLines) {
                expect(second.message).not.toContain(line);
            }
        },
    );

    test("trailing spaces and CRLF line ends are taken; the nodes get the canonical PEM their scripts accept", () => {
        const sloppy = (pem: string) => pem.replace(/\n/g, " \t\r\n");
        const parsed = core({
            ca: { certificate: sloppy(ca.certificate), key: ca.key, alsoTrust: [sloppy(otherCa.certificate)] },
        }).proxy.ca!;
        expect(parsed.certificate).toBe(ca.certificate);
        expect(parsed.alsoTrust).toEqual([otherCa.certificate]);
        const script = applyScript({
            runtime: "containerd",
            mode: "proxy",
            endpoint: "http://10.0.0.1:4001",
            registries: ["docker.io"],
            allRegistries: false,
            noProxy: [],
            proxyCa: trustedCaBundle(parsed),
        });
        expect(script).toContain(ca.certificate);
    });

    test("a certificate that is not valid at the time of the preview is refused with its dates", () => {
        const later = new Date(Date.now() + 3 * 24 * 3600 * 1000);
        const e = configErrorOf(() => parseProxyCa({ certificate: ca.certificate, key: ca.key }, later));
        expect(e.key).toBe("proxy.ca.certificate");
        expect(e.value).toMatch(/^"a certificate valid from .+ to .+"$/);
        expect(e.allowed).toBe(`a CA certificate valid now (${later.toISOString()})`);
        const earlier = new Date(Date.now() - 24 * 3600 * 1000);
        expect(configErrorOf(() => parseProxyCa({ certificate: ca.certificate, key: ca.key }, earlier)).key).toBe(
            "proxy.ca.certificate",
        );
    });
});
