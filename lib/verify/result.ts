/**
 * The verification's result: parsed from the one JSON line the verification script prints.
 */
import { VERIFY_OUTPUT_PREFIX } from "./script";
import { TrafficSplit } from "./metrics";

export interface Verification {
    image: string;
    node: string;
    runtime: "containerd" | "docker";
    /** Wall time of the pull, in seconds. */
    pullSeconds: number;
    /** Whether a previous local copy was removed before the pull. */
    removedPreviousCopy: boolean;
    /**
     * True when the pull is proven to have gone through Dragonfly: the clients' proxy request
     * counter moved AND they downloaded at least {@link requiredBytes} during the pull (other
     * requests through the proxy move the request counter, not the download traffic of this
     * image's layers).
     */
    throughDragonfly: boolean;
    /** Requests the Dragonfly client's proxy handled during the pull. */
    proxyRequests: number;
    /** Bytes by source during the pull; null when the metrics do not give it. */
    traffic: TrafficSplit | null;
    /**
     * Bytes of the image layers this pull fetched (containerd: the layer blobs new in its content
     * store); null when they cannot be measured (Docker, no `ctr`). Absent in lines of scripts
     * that did not report it.
     */
    layerBytes?: number | null;
    /**
     * How many metrics URLs were read (their counters summed). Absent in lines of scripts that
     * did not report it.
     */
    metricsSources?: number;
}

/** The download traffic a pull must show to count as through Dragonfly: its layer bytes, at least 1. */
export function requiredBytes(layerBytes: number | null | undefined): number {
    return Math.max(1, layerBytes ?? 1);
}

/** The bytes the clients downloaded, from any source. */
export function downloadedBytes(traffic: TrafficSplit | null): number {
    return traffic === null ? 0 : traffic.remotePeer + traffic.localPeer + traffic.backToSource;
}

function isCount(v: unknown): v is number {
    return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

/**
 * Finds and checks the script's JSON line in the command's stdout (other lines, e.g. crictl's
 * progress, are ignored). Throws when it is missing or malformed.
 */
export function parseVerificationOutput(stdout: string): Verification {
    const lines = stdout.split("\n").filter((l) => l.startsWith(VERIFY_OUTPUT_PREFIX));
    if (lines.length !== 1) {
        throw new Error(
            `expected one "${VERIFY_OUTPUT_PREFIX.trim()}" line in the verification output, found ${lines.length}`,
        );
    }
    let v: Record<string, unknown>;
    try {
        v = JSON.parse(lines[0].slice(VERIFY_OUTPUT_PREFIX.length)) as Record<string, unknown>;
    } catch (e) {
        throw new Error(`the verification line is not JSON: ${(e as Error).message}`, { cause: e });
    }
    const problems: string[] = [];
    if (typeof v.image !== "string" || v.image === "") {
        problems.push("image");
    }
    if (typeof v.node !== "string" || v.node === "") {
        problems.push("node");
    }
    if (v.runtime !== "containerd" && v.runtime !== "docker") {
        problems.push("runtime");
    }
    if (!isCount(v.pullSeconds)) {
        problems.push("pullSeconds");
    }
    if (typeof v.removedPreviousCopy !== "boolean") {
        problems.push("removedPreviousCopy");
    }
    if (typeof v.throughDragonfly !== "boolean") {
        problems.push("throughDragonfly");
    }
    if (!isCount(v.proxyRequests)) {
        problems.push("proxyRequests");
    }
    let traffic: TrafficSplit | null = null;
    if (v.traffic !== null) {
        const t = v.traffic as Record<string, unknown> | undefined;
        if (
            typeof t !== "object" ||
            t === null ||
            !isCount(t.remotePeer) ||
            !isCount(t.localPeer) ||
            !isCount(t.backToSource)
        ) {
            problems.push("traffic");
        } else {
            traffic = { remotePeer: t.remotePeer, localPeer: t.localPeer, backToSource: t.backToSource };
        }
    }
    if (v.layerBytes !== undefined && v.layerBytes !== null && !isCount(v.layerBytes)) {
        problems.push("layerBytes");
    }
    if (v.metricsSources !== undefined && !(Number.isInteger(v.metricsSources) && (v.metricsSources as number) >= 1)) {
        problems.push("metricsSources");
    }
    if (problems.length > 0) {
        throw new Error(`the verification line has invalid fields: ${problems.join(", ")}`);
    }
    const layerBytes = v.layerBytes as number | null | undefined;
    const proven =
        (v.proxyRequests as number) > 0 && traffic !== null && downloadedBytes(traffic) >= requiredBytes(layerBytes);
    if (v.throughDragonfly !== proven) {
        throw new Error(
            "the verification line is inconsistent: throughDragonfly must equal proxyRequests > 0 and a download " +
                "traffic of at least layerBytes (at least 1 byte)",
        );
    }
    const result: Verification = {
        image: v.image as string,
        node: v.node as string,
        runtime: v.runtime as "containerd" | "docker",
        pullSeconds: v.pullSeconds as number,
        removedPreviousCopy: v.removedPreviousCopy as boolean,
        throughDragonfly: v.throughDragonfly as boolean,
        proxyRequests: v.proxyRequests as number,
        traffic,
    };
    if (layerBytes !== undefined) {
        result.layerBytes = layerBytes;
    }
    if (v.metricsSources !== undefined) {
        result.metricsSources = v.metricsSources as number;
    }
    return result;
}
