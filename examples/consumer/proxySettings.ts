/**
 * Pure helpers of the consumer example: check the values read from a dragonfly-cce stack and turn
 * them into proxy settings for another cluster's nodes and workloads. No engine, no I/O.
 */

/** The dragonfly-cce outputs this example reads, by their documented names (docs/outputs.md). */
export const PROXY_URL_OUTPUT = "proxyUrl";
export const PROXY_ADDRESS_OUTPUT = "proxyAddress";
export const NO_PROXY_OUTPUT = "noProxy";
export const PROXY_CA_OUTPUT = "proxyCaCertificate";

/** NO_PROXY when the producer stack does not export `noProxy` (older stacks). */
/** Same entries as dragonfly-cce's own defaults (lib/node/config.ts DEFAULT_NO_PROXY). */
export const FALLBACK_NO_PROXY = "localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc";

/** What a consumer needs from the producer stack, checked. */
export interface DragonflyProxy {
    /** `http://host:port` of the Dragonfly client proxy. */
    proxyUrl: string;
    /** `host:port` of the same proxy. */
    proxyAddress: string;
    /** Comma-separated NO_PROXY list the producer uses on its own nodes. */
    noProxy: string;
    /** PEM of the CA the proxy signs intercepted HTTPS with (`proxy.ca`); absent without it. */
    caCertificate?: string;
}

/** A value read from the producer stack, or a clear error naming the output and what it should be. */
function expectString(stack: string, output: string, value: unknown, what: string): string {
    if (typeof value !== "string" || value.trim() === "") {
        const got = value === undefined ? "nothing" : JSON.stringify(value);
        throw new Error(
            `Stack ${stack}: output ${output} should be ${what} (see dragonfly-cce docs/outputs.md); got ${got}`,
        );
    }
    return value;
}

/** Checks the producer's outputs by name and type; `noProxy` is optional. */
export function parseDragonflyOutputs(
    stack: string,
    outputs: { proxyUrl: unknown; proxyAddress: unknown; noProxy?: unknown; proxyCaCertificate?: unknown },
): DragonflyProxy {
    const proxyUrl = expectString(stack, PROXY_URL_OUTPUT, outputs.proxyUrl, "a string such as http://10.0.0.5:4001");
    if (!/^https?:\/\/[^\s/]+$/.test(proxyUrl)) {
        throw new Error(
            `Stack ${stack}: output ${PROXY_URL_OUTPUT} should be an http(s) URL without a path; got ${JSON.stringify(proxyUrl)}`,
        );
    }
    const proxyAddress = expectString(
        stack,
        PROXY_ADDRESS_OUTPUT,
        outputs.proxyAddress,
        "a string such as 10.0.0.5:4001",
    );
    const noProxy =
        outputs.noProxy === undefined
            ? FALLBACK_NO_PROXY
            : expectString(stack, NO_PROXY_OUTPUT, outputs.noProxy, "a comma-separated string");
    if (outputs.proxyCaCertificate === undefined || outputs.proxyCaCertificate === null) {
        return { proxyUrl, proxyAddress, noProxy };
    }
    const caCertificate = expectString(
        stack,
        PROXY_CA_OUTPUT,
        outputs.proxyCaCertificate,
        "a PEM certificate (-----BEGIN CERTIFICATE-----)",
    );
    if (!caCertificate.startsWith("-----BEGIN CERTIFICATE-----")) {
        throw new Error(`Stack ${stack}: output ${PROXY_CA_OUTPUT} should be a PEM certificate; got other text`);
    }
    return { proxyUrl, proxyAddress, noProxy, caCertificate };
}

/** The producer's NO_PROXY entries, then this cluster's, without duplicates (first wins). */
export function mergeNoProxy(noProxy: string, extra: readonly string[]): string {
    const seen = new Set<string>();
    for (const entry of [...noProxy.split(","), ...extra]) {
        const e = entry.trim();
        if (e !== "") {
            seen.add(e);
        }
    }
    return [...seen].join(",");
}

/**
 * A systemd drop-in for containerd (`/etc/systemd/system/containerd.service.d/http-proxy.conf`)
 * that sends the runtime's pulls through the Dragonfly proxy, as the [seed document](../../README.md#the-seed-document) does.
 */
export function containerdDropIn(proxy: DragonflyProxy): string {
    // systemd expands % specifiers in unit files: a literal % (fe80::1%eth0) is written %%.
    const unit = (v: string) => v.replace(/%/g, "%%");
    return [
        "[Service]",
        `Environment="HTTP_PROXY=${unit(proxy.proxyUrl)}"`,
        `Environment="HTTPS_PROXY=${unit(proxy.proxyUrl)}"`,
        `Environment="NO_PROXY=${unit(proxy.noProxy)}"`,
        "",
    ].join("\n");
}

/**
 * The data of a ConfigMap that workloads (`envFrom`) and node agents can read; with the
 * producer's `proxy.ca`, also the CA certificate to trust instead of skipping TLS verification.
 */
export function proxyConfigMapData(proxy: DragonflyProxy): Record<string, string> {
    return {
        HTTP_PROXY: proxy.proxyUrl,
        HTTPS_PROXY: proxy.proxyUrl,
        NO_PROXY: proxy.noProxy,
        DRAGONFLY_PROXY_ADDRESS: proxy.proxyAddress,
        "http-proxy.conf": containerdDropIn(proxy),
        ...(proxy.caCertificate === undefined ? {} : { "dragonfly-proxy-ca.crt": proxy.caCertificate }),
    };
}
