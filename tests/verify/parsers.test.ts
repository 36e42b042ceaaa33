/**
 * Unit tests of the verification's pure parts: the Prometheus text parser and counters, the
 * script's JSON line parser, and the `verify` config.
 */
import { defaultMetricsUrls, parseVerifyConfig, isImageReference } from "../../lib/verify/config";
import { counterDelta, dragonflyCounters, parsePrometheusText } from "../../lib/verify/metrics";
import { parseVerificationOutput } from "../../lib/verify/result";
import { execFileSync } from "child_process";
import * as path from "path";
import { configErrorOf } from "../helpers/configError";

const CLIENT_METRICS = `# HELP dragonfly_client_proxy_request_total Counter of the number of the proxy request.
# TYPE dragonfly_client_proxy_request_total counter
dragonfly_client_proxy_request_total 42
dragonfly_client_proxy_request_failure_total 2
# TYPE dragonfly_client_download_traffic counter
dragonfly_client_download_traffic{type="REMOTE_PEER"} 1048576
dragonfly_client_download_traffic{type="LOCAL_PEER"} 2048 1700000000000
dragonfly_client_download_traffic{task_type="STANDARD",type="BACK_TO_SOURCE"} 5e+03
dragonfly_client_download_traffic{type="back_to_source",task_type="PERSISTENT"} 10
dragonfly_client_download_task_total{type="STANDARD",tag="a,b=\\"c\\"",app="",priority="6"} 7
dragonfly_client_download_task_duration_milliseconds_bucket{task_type="STANDARD",le="+Inf"} 3
`;

describe("Prometheus text parser", () => {
    test("reads names, labels (escaped quotes, commas), values, optional timestamps; skips comments", () => {
        const s = parsePrometheusText(CLIENT_METRICS);
        expect(s.map((x) => x.name)).toEqual([
            "dragonfly_client_proxy_request_total",
            "dragonfly_client_proxy_request_failure_total",
            "dragonfly_client_download_traffic",
            "dragonfly_client_download_traffic",
            "dragonfly_client_download_traffic",
            "dragonfly_client_download_traffic",
            "dragonfly_client_download_task_total",
            "dragonfly_client_download_task_duration_milliseconds_bucket",
        ]);
        expect(s[3]).toEqual({
            name: "dragonfly_client_download_traffic",
            labels: { type: "LOCAL_PEER" },
            value: 2048,
        });
        expect(s[4].value).toBe(5000);
        expect(s[6].labels).toEqual({ type: "STANDARD", tag: 'a,b="c"', app: "", priority: "6" });
        expect(s[7].labels.le).toBe("+Inf");
    });

    test("skips malformed lines", () => {
        expect(parsePrometheusText("good 1\nbad{ 2\n3 x\nalso_bad notanumber\n")).toEqual([
            { name: "good", labels: {}, value: 1 },
        ]);
    });

    test("dragonflyCounters sums the proxy counter and splits traffic by type (task_type is not type)", () => {
        expect(dragonflyCounters(CLIENT_METRICS)).toEqual({
            proxyRequests: 42,
            traffic: { remotePeer: 1048576, localPeer: 2048, backToSource: 5010 },
        });
    });

    test("no traffic metric: traffic is absent; no metrics at all: zero requests", () => {
        expect(dragonflyCounters("dragonfly_client_proxy_request_total 3\n")).toEqual({ proxyRequests: 3 });
        expect(dragonflyCounters("")).toEqual({ proxyRequests: 0 });
    });

    test("counterDelta subtracts, and a counter that went down (client restart) counts from zero", () => {
        const before = { proxyRequests: 10, traffic: { remotePeer: 100, localPeer: 0, backToSource: 50 } };
        const after = { proxyRequests: 14, traffic: { remotePeer: 30, localPeer: 8, backToSource: 150 } };
        expect(counterDelta(before, after)).toEqual({
            proxyRequests: 4,
            traffic: { remotePeer: 30, localPeer: 8, backToSource: 100 },
        });
        expect(counterDelta({ proxyRequests: 5 }, { proxyRequests: 5 })).toEqual({ proxyRequests: 0 });
    });
});

/** What the script's awk counter (lib/verify/metrics.awk, run by the system awk) prints for `text`. */
function awkCounters(text: string): string {
    const program = path.join(__dirname, "../../lib/verify/metrics.awk");
    return execFileSync("awk", ["-f", program], { input: text, encoding: "utf8" }).trim();
}

/** The same line from the TypeScript parser, the oracle. */
function oracleLine(text: string): string {
    const c = dragonflyCounters(text);
    const t = c.traffic ?? { remotePeer: 0, localPeer: 0, backToSource: 0 };
    return [c.proxyRequests, t.remotePeer, t.localPeer, t.backToSource, c.traffic ? 1 : 0].join(" ");
}

describe("the script's awk counter agrees with the TypeScript parser (its oracle)", () => {
    test.each([
        ["the client's metrics", CLIENT_METRICS],
        ["no traffic metric", "dragonfly_client_proxy_request_total 3\n"],
        ["nothing", ""],
        ["two clients' metrics, one after the other", `${CLIENT_METRICS}\n${CLIENT_METRICS}`],
        [
            "indented samples, timestamps, comments and other metrics",
            "  dragonfly_client_proxy_request_total 7 1700000000000\n# dragonfly_client_proxy_request_total 99\n" +
                'dragonfly_client_proxy_request_failure_total 5\ndragonfly_client_download_traffic{type="REMOTE_PEER"} 1.5e+06\n',
        ],
    ])("%s", (_name, text) => {
        expect(awkCounters(text)).toBe(oracleLine(text));
    });
});

const GOOD = {
    image: "nginx:1.27",
    node: "n1",
    runtime: "containerd",
    pullSeconds: 1.5,
    removedPreviousCopy: false,
    throughDragonfly: true,
    proxyRequests: 3,
    traffic: { remotePeer: 1, localPeer: 2, backToSource: 3 },
};

describe("verification line parser", () => {
    test("finds the line among other output", () => {
        const out = `Image is up to date for sha256:0\ndragonfly-cce-verify: ${JSON.stringify(GOOD)}\n`;
        expect(parseVerificationOutput(out)).toEqual(GOOD);
    });

    test("metricsSources: kept when present, absent from older lines, a positive whole number", () => {
        const line = (v: object) => `dragonfly-cce-verify: ${JSON.stringify(v)}`;
        expect(parseVerificationOutput(line({ ...GOOD, metricsSources: 3 }))).toEqual({ ...GOOD, metricsSources: 3 });
        // An older line without it still parses, and the result has no such key.
        expect(Object.keys(parseVerificationOutput(line(GOOD)))).not.toContain("metricsSources");
        for (const bad of [0, -1, 1.5, "2", null]) {
            expect(() => parseVerificationOutput(line({ ...GOOD, metricsSources: bad }))).toThrow(
                "invalid fields: metricsSources",
            );
        }
    });

    test("traffic may be null", () => {
        expect(
            parseVerificationOutput(
                `dragonfly-cce-verify: ${JSON.stringify({ ...GOOD, traffic: null, throughDragonfly: false })}`,
            ).traffic,
        ).toBeNull();
    });

    test("layerBytes: kept when present (a count or null), absent from older lines", () => {
        const line = (v: object) => `dragonfly-cce-verify: ${JSON.stringify(v)}`;
        expect(parseVerificationOutput(line({ ...GOOD, layerBytes: 6 })).layerBytes).toBe(6);
        expect(parseVerificationOutput(line({ ...GOOD, layerBytes: null })).layerBytes).toBeNull();
        expect(Object.keys(parseVerificationOutput(line(GOOD)))).not.toContain("layerBytes");
        expect(() => parseVerificationOutput(line({ ...GOOD, layerBytes: -1 }))).toThrow("invalid fields: layerBytes");
    });

    test("throughDragonfly needs the requests AND download traffic covering the pull's layer bytes", () => {
        const line = (v: object) => `dragonfly-cce-verify: ${JSON.stringify(v)}`;
        // GOOD downloaded 6 bytes: enough for 6 bytes of layers, not for 7, and never without traffic.
        expect(parseVerificationOutput(line({ ...GOOD, layerBytes: 6 })).throughDragonfly).toBe(true);
        expect(() => parseVerificationOutput(line({ ...GOOD, layerBytes: 7 }))).toThrow(/inconsistent/);
        expect(() => parseVerificationOutput(line({ ...GOOD, traffic: null }))).toThrow(/inconsistent/);
        const idle = { remotePeer: 0, localPeer: 0, backToSource: 0 };
        expect(() => parseVerificationOutput(line({ ...GOOD, traffic: idle }))).toThrow(/inconsistent/);
        expect(
            parseVerificationOutput(line({ ...GOOD, layerBytes: 7, throughDragonfly: false })).throughDragonfly,
        ).toBe(false);
    });

    test("missing, repeated, non-JSON, invalid or inconsistent lines are errors", () => {
        expect(() => parseVerificationOutput("nothing here")).toThrow(/found 0/);
        const l = `dragonfly-cce-verify: ${JSON.stringify(GOOD)}`;
        expect(() => parseVerificationOutput(`${l}\n${l}`)).toThrow(/found 2/);
        expect(() => parseVerificationOutput("dragonfly-cce-verify: {oops")).toThrow(/not JSON/);
        expect(() =>
            parseVerificationOutput(
                `dragonfly-cce-verify: ${JSON.stringify({ ...GOOD, pullSeconds: -1, runtime: "cri-o" })}`,
            ),
        ).toThrow("invalid fields: runtime, pullSeconds");
        expect(() =>
            parseVerificationOutput(`dragonfly-cce-verify: ${JSON.stringify({ ...GOOD, traffic: { remotePeer: 1 } })}`),
        ).toThrow("invalid fields: traffic");
        expect(() =>
            parseVerificationOutput(`dragonfly-cce-verify: ${JSON.stringify({ ...GOOD, proxyRequests: 0 })}`),
        ).toThrow(/inconsistent/);
    });
});

describe("default metrics URLs", () => {
    test("every host's client on port 4002, then this node's own, in order", () => {
        expect(defaultMetricsUrls(["192.168.0.11", "df-node-2.internal", "192.168.0.13"])).toEqual([
            "http://192.168.0.11:4002/metrics",
            "http://df-node-2.internal:4002/metrics",
            "http://192.168.0.13:4002/metrics",
            "http://127.0.0.1:4002/metrics",
        ]);
    });

    test("IPv6 hosts are bracketed", () => {
        expect(defaultMetricsUrls(["fd00::12", "192.168.0.12"])).toEqual([
            "http://[fd00::12]:4002/metrics",
            "http://192.168.0.12:4002/metrics",
            "http://127.0.0.1:4002/metrics",
        ]);
    });

    test("duplicates are removed, the first occurrence kept (host names in any case, loopback listed as a node)", () => {
        expect(
            defaultMetricsUrls(["Node-A.example", "192.168.0.12", "node-a.example", "127.0.0.1", "192.168.0.12"]),
        ).toEqual([
            "http://node-a.example:4002/metrics",
            "http://192.168.0.12:4002/metrics",
            "http://127.0.0.1:4002/metrics",
        ]);
    });

    test("no nodes: only this node's own client", () => {
        expect(defaultMetricsUrls([])).toEqual(["http://127.0.0.1:4002/metrics"]);
    });
});

describe("verify config", () => {
    const NODES = ["node-a", "node-b"];

    test("off when verify or its image is not set", () => {
        expect(parseVerifyConfig(undefined, NODES)).toBeUndefined();
        expect(parseVerifyConfig({}, NODES)).toBeUndefined();
    });

    test("image and node; the node defaults to the first one", () => {
        expect(
            parseVerifyConfig({ image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0", node: "node-b" }, NODES),
        ).toEqual({ image: "swr.cn-north-4.myhuaweicloud.com/org/app:1.0", node: "node-b", metricsUrls: [] });
        expect(parseVerifyConfig({ image: "nginx" }, NODES)).toEqual({
            image: "nginx",
            node: "node-a",
            metricsUrls: [],
        });
        expect(
            parseVerifyConfig({ image: "nginx", metricsUrls: ["http://192.168.0.12:4002/metrics"] }, NODES)
                ?.metricsUrls,
        ).toEqual(["http://192.168.0.12:4002/metrics"]);
    });

    test("image references", () => {
        for (const ok of [
            "nginx",
            "nginx:1.27",
            "library/nginx:latest",
            "registry.local:5000/team/app:v1.2-rc_3",
            "198.18.0.3:5443/e2e/app:t1",
            "localhost:5000/app",
            `app@sha256:${"a".repeat(64)}`,
            `swr.cn-north-4.myhuaweicloud.com/org/app:1.0@sha256:${"0".repeat(64)}`,
        ]) {
            expect([ok, isImageReference(ok)]).toEqual([ok, true]);
        }
        for (const bad of [
            "",
            "https://registry.local/app",
            "Nginx",
            "app:",
            "app:-x",
            "app name",
            "app;rm -rf /",
            "app'x",
            "registry.local/App",
            "app@sha256:xyz",
            "/app",
            "app//x",
            `app:${"t".repeat(129)}`,
        ]) {
            expect([bad, isImageReference(bad)]).toEqual([bad, false]);
        }
    });

    test("a bad image reference is a ConfigError naming the key", () => {
        const e = configErrorOf(() => parseVerifyConfig({ image: "https://registry.local/app" }, NODES));
        expect(e.key).toBe("verify.image");
        expect(e.message).toContain("https://registry.local/app");
    });

    test("an unknown node is a ConfigError listing the node names", () => {
        const e = configErrorOf(() => parseVerifyConfig({ image: "nginx", node: "node-z" }, NODES));
        expect(e.key).toBe("verify.node");
        expect(e.allowed).toContain('"node-a", "node-b"');
    });

    test("no nodes at all, a node without an image, unknown keys and bad URLs are ConfigErrors", () => {
        expect(configErrorOf(() => parseVerifyConfig({ image: "nginx" }, [])).key).toBe("verify");
        expect(configErrorOf(() => parseVerifyConfig({ node: "node-a" }, NODES)).key).toBe("verify.image");
        expect(configErrorOf(() => parseVerifyConfig({ image: "nginx", nod: "node-a" }, NODES)).key).toBe("verify.nod");
        expect(
            configErrorOf(() => parseVerifyConfig({ image: "nginx", metricsUrls: ["ftp://x/metrics"] }, NODES)).key,
        ).toBe("verify.metricsUrls[0]");
        expect(configErrorOf(() => parseVerifyConfig("nginx", NODES)).key).toBe("verify");
    });
});
