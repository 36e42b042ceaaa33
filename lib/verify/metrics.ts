/**
 * Parsing of the Dragonfly client's Prometheus metrics (port 4002, `/metrics`) for the pull
 * verification: `dragonfly_client_proxy_request_total` (every request the client's proxy
 * handled, mirror requests included) and `dragonfly_client_download_traffic{type=...}` (bytes by
 * source: REMOTE_PEER, LOCAL_PEER, BACK_TO_SOURCE).
 *
 * The script on the node counts with awk (lib/verify/metrics.awk); this parser is the oracle the
 * tests hold that awk to, on the same metrics text (tests/verify/parsers.test.ts).
 */

export const PROXY_REQUEST_METRIC = "dragonfly_client_proxy_request_total";
export const DOWNLOAD_TRAFFIC_METRIC = "dragonfly_client_download_traffic";

export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

export interface TrafficSplit {
    remotePeer: number;
    localPeer: number;
    backToSource: number;
}

export interface DragonflyCounters {
    proxyRequests: number;
    /** Absent when the metrics have no `dragonfly_client_download_traffic` sample. */
    traffic?: TrafficSplit;
}

function parseLabels(text: string): Record<string, string> {
    const labels: Record<string, string> = {};
    const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
    let m: RegExpExecArray | null;
    while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
        labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    return labels;
}

function parseValue(s: string): number {
    switch (s) {
        case "+Inf":
            return Infinity;
        case "-Inf":
            return -Infinity;
        case "NaN":
            return NaN;
        default:
            return Number(s);
    }
}

/** The samples of a Prometheus text exposition (comments and malformed lines are skipped). */
export function parsePrometheusText(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
        if (!m) {
            continue;
        }
        const value = parseValue(m[3]);
        if (Number.isNaN(value) && m[3] !== "NaN") {
            continue;
        }
        samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2].slice(1, -1)) : {}, value });
    }
    return samples;
}

/** The counters the verification uses, summed over all their label sets. */
export function dragonflyCounters(text: string): DragonflyCounters {
    const samples = parsePrometheusText(text);
    let proxyRequests = 0;
    let traffic: TrafficSplit | undefined;
    for (const s of samples) {
        if (s.name === PROXY_REQUEST_METRIC) {
            proxyRequests += s.value;
        } else if (s.name === DOWNLOAD_TRAFFIC_METRIC) {
            traffic ??= { remotePeer: 0, localPeer: 0, backToSource: 0 };
            switch ((s.labels.type ?? "").toUpperCase()) {
                case "REMOTE_PEER":
                    traffic.remotePeer += s.value;
                    break;
                case "LOCAL_PEER":
                    traffic.localPeer += s.value;
                    break;
                case "BACK_TO_SOURCE":
                    traffic.backToSource += s.value;
                    break;
            }
        }
    }
    return traffic ? { proxyRequests, traffic } : { proxyRequests };
}

/** after - before, per counter (a counter reset, i.e. a negative delta, counts from zero). */
export function counterDelta(before: DragonflyCounters, after: DragonflyCounters): DragonflyCounters {
    const d = (a: number, b: number): number => (a >= b ? a - b : a);
    const out: DragonflyCounters = { proxyRequests: d(after.proxyRequests, before.proxyRequests) };
    if (after.traffic) {
        const b = before.traffic ?? { remotePeer: 0, localPeer: 0, backToSource: 0 };
        out.traffic = {
            remotePeer: d(after.traffic.remotePeer, b.remotePeer),
            localPeer: d(after.traffic.localPeer, b.localPeer),
            backToSource: d(after.traffic.backToSource, b.backToSource),
        };
    }
    return out;
}
