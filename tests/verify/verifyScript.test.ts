/**
 * The verification script, run for real by bash exactly as the remote command text runs it,
 * against a stand-in Dragonfly metrics server (HTTP on loopback) and PATH shims for crictl and
 * docker. The shims are fine here: what is under test is the script's metrics reading and its
 * decision; the real CRI pull through a configured containerd is proven in tests/e2e. The content
 * store the script reads is real: Debian's containerd (1.6) and its own `ctr`, into which the
 * crictl shim's "pull" writes the image's blobs.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { networkInterfaces, tmpdir } from "os";
import { join } from "path";
import { remoteCommand } from "../../lib/remote/shell";
import { parseVerificationOutput } from "../../lib/verify/result";
import { verifyScript, VerifyScriptSpec } from "../../lib/verify/script";
import { describePrivileged } from "../helpers/privileged";

const IMAGE = "swr.cn-north-4.myhuaweicloud.com/org/app:1.0";

/** crictl / docker stand-in (see the file). */
const SHIM = readFileSync(join(__dirname, "runtime-shim.sh"), "utf8");

/** ctr: Debian's real ctr, talking to the suite's own containerd. */
const CTR_SHIM = readFileSync(join(__dirname, "ctr-shim.sh"), "utf8");

interface MetricsServer {
    url: string;
    serveUrl: string;
    /** POST: other requests through the proxy (the request counter moves, no download). */
    noiseUrl: string;
    /** POST: another image's blobs through the proxy (requests and 1000 bytes of download). */
    otherPullUrl: string;
    /** POST: the metrics fail (HTTP 503) from then on. */
    breakUrl: string;
    close(): Promise<void>;
}

/** A Dragonfly-client-like metrics endpoint; POST /serve counts one proxied pull. */
async function metricsServer(opts: { traffic?: boolean } = {}): Promise<MetricsServer> {
    const c = { proxy: 17, remote: 1000, local: 5, source: 300 };
    let broken = false;
    const server = http.createServer((req, res) => {
        if (req.method === "POST" && req.url === "/break") {
            broken = true;
            res.end("ok");
            return;
        }
        if (broken) {
            res.writeHead(503);
            res.end("client restarting");
            return;
        }
        if (req.method === "POST" && req.url === "/noise") {
            c.proxy += 5;
            res.end("ok");
            return;
        }
        if (req.method === "POST" && req.url === "/other-pull") {
            c.proxy += 2;
            c.remote += 1000;
            res.end("ok");
            return;
        }
        if (req.method === "POST" && req.url === "/serve") {
            c.proxy += 3;
            c.remote += 512;
            c.source += 2048;
            res.end("ok");
            return;
        }
        if (req.url !== "/metrics") {
            res.writeHead(404);
            res.end();
            return;
        }
        const lines = [
            "# HELP dragonfly_client_proxy_request_total Counter of the number of the proxy request.",
            "# TYPE dragonfly_client_proxy_request_total counter",
            `dragonfly_client_proxy_request_total ${c.proxy}`,
            "dragonfly_client_proxy_request_failure_total 9",
            "dragonfly_client_proxy_request_via_dfdaemon_total 40",
            'dragonfly_client_download_task_total{type="STANDARD",tag="",app="",priority="6"} 12',
            'dragonfly_client_download_task_duration_milliseconds_bucket{task_type="STANDARD",task_size_level="1",le="+Inf"} 3',
        ];
        if (opts.traffic !== false) {
            lines.push(
                "# TYPE dragonfly_client_download_traffic counter",
                `dragonfly_client_download_traffic{type="REMOTE_PEER"} ${c.remote}`,
                `dragonfly_client_download_traffic{type="LOCAL_PEER"} ${c.local} 1700000000000`,
                `dragonfly_client_download_traffic{type="BACK_TO_SOURCE"} ${c.source.toExponential()}`,
            );
        }
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(lines.join("\n") + "\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}/metrics`,
        serveUrl: `http://127.0.0.1:${port}/serve`,
        noiseUrl: `http://127.0.0.1:${port}/noise`,
        otherPullUrl: `http://127.0.0.1:${port}/other-pull`,
        breakUrl: `http://127.0.0.1:${port}/break`,
        close: () => new Promise((r) => server.close(() => r())),
    };
}

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    calls: string[];
}

describePrivileged(
    "verification script (bash, stand-in metrics, crictl/docker shims)",
    { root: true, commands: ["bash", "curl", "awk", "timeout", "shellcheck", "ip", "containerd", "ctr", "truncate"] },
    () => {
        let dir: string;
        let shimDir: string;
        // One real containerd for the suite, on a private socket and root; its content store is
        // emptied before each test.
        const ctrd = mkdtempSync(join(tmpdir(), `dfverify-ctrd-${process.pid}-`));
        const ctrAddress = join(ctrd, "containerd.sock");
        let containerd: ChildProcess | undefined;
        const ctr = (args: string[]) =>
            execFileSync("ctr", ["--address", ctrAddress, "-n", "k8s.io", ...args], { encoding: "utf8" });

        beforeAll(async () => {
            // No garbage collection: on a node the pulled blobs are held by their image; here
            // nothing references them, and containerd's GC would remove them under the script.
            const config = join(ctrd, "config.toml");
            writeFileSync(
                config,
                'version = 2\n[plugins."io.containerd.gc.v1.scheduler"]\n  mutation_threshold = 1000000000\n  startup_delay = "1000h"\n',
            );
            containerd = spawn(
                "containerd",
                [
                    "--root",
                    join(ctrd, "root"),
                    "--state",
                    join(ctrd, "state"),
                    "--address",
                    ctrAddress,
                    "--config",
                    config,
                ],
                { stdio: "ignore" },
            );
            const deadline = Date.now() + 15_000;
            for (;;) {
                try {
                    ctr(["content", "ls", "-q"]);
                    break;
                } catch (e) {
                    if (Date.now() > deadline) {
                        throw e;
                    }
                    await new Promise((r) => setTimeout(r, 100));
                }
            }
        });

        afterAll(async () => {
            if (containerd && containerd.exitCode === null) {
                const exited = new Promise((r) => containerd!.once("exit", r));
                containerd.kill("SIGTERM");
                await exited;
            }
            rmSync(ctrd, { recursive: true, force: true });
        });

        beforeEach(() => {
            dir = mkdtempSync(join(tmpdir(), `dfverify-${process.pid}-`));
            shimDir = join(dir, "bin");
            mkdirSync(shimDir);
            for (const name of ["crictl", "docker"]) {
                writeFileSync(join(shimDir, name), SHIM);
                chmodSync(join(shimDir, name), 0o755);
            }
            writeFileSync(join(shimDir, "ctr"), CTR_SHIM);
            chmodSync(join(shimDir, "ctr"), 0o755);
            const stored = ctr(["content", "ls", "-q"]).split("\n").filter(Boolean);
            if (stored.length > 0) {
                ctr(["content", "rm", ...stored]);
            }
        });

        /** Blobs already in the content store before the pull ("NAME=SIZE" layers). */
        function preload(layers: string[]): Promise<void> {
            return new Promise((resolve, reject) => {
                const c = spawn(join(shimDir, "crictl"), ["preload"], {
                    env: {
                        PATH: `${shimDir}:${process.env.PATH}`,
                        SHIM_DIR: dir,
                        SHIM_LAYERS: layers.join(" "),
                        CTR_ADDRESS: ctrAddress,
                    },
                    stdio: "inherit",
                });
                c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`preload exited ${code}`))));
            });
        }

        afterEach(() => {
            rmSync(dir, { recursive: true, force: true });
        });

        function runScript(
            spec: VerifyScriptSpec,
            env: {
                mode: "through" | "direct" | "fail";
                serve?: string[];
                /** Other traffic through the proxy during the pull. */
                noise?: string[];
                /** Layer blobs the pull stores, as "DIGEST=SIZE". */
                layers?: string[];
                breakAfterPull?: string[];
                present?: boolean;
                inUse?: boolean;
            },
        ): Promise<Run> {
            if (env.present) {
                writeFileSync(join(dir, "present"), "");
            }
            if (env.inUse) {
                writeFileSync(join(dir, "in-use"), "");
            }
            const text = remoteCommand(verifyScript(spec), { sudo: false });
            return new Promise((resolve) => {
                // The remote command text runs through a POSIX shell, as sshd runs it with the login shell.
                const child = spawn("sh", ["-c", text], {
                    env: {
                        PATH: `${shimDir}:${process.env.PATH}`,
                        SHIM_DIR: dir,
                        SHIM_MODE: env.mode,
                        SHIM_SERVE: (env.serve ?? []).join(" "),
                        SHIM_NOISE: (env.noise ?? []).join(" "),
                        SHIM_LAYERS: (env.layers ?? []).join(" "),
                        CTR_ADDRESS: ctrAddress,
                        SHIM_BREAK: (env.breakAfterPull ?? []).join(" "),
                        TMPDIR: dir,
                    },
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
                child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                child.on("close", (code) => {
                    const log = join(dir, "calls.log");
                    resolve({
                        code: code ?? 1,
                        stdout,
                        stderr,
                        calls: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [],
                    });
                });
            });
        }

        test("the generated scripts are clean under shellcheck (containerd and docker)", async () => {
            for (const runtime of ["containerd", "docker"] as const) {
                const file = join(dir, `verify-${runtime}.sh`);
                writeFileSync(
                    file,
                    verifyScript({
                        image: IMAGE,
                        node: "node-a",
                        runtime,
                        metricsUrls: ["http://10.0.0.5:4002/metrics", "http://10.0.0.6:4002/metrics"],
                    }),
                );
                const r = await new Promise<{ code: number; out: string }>((res) => {
                    const c = spawn("shellcheck", [file]);
                    let out = "";
                    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
                    c.on("close", (code) => res({ code: code ?? 1, out }));
                });
                expect(r.out).toBe("");
                expect(r.code).toBe(0);
            }
        });

        test("a pull through Dragonfly: removes the old copy, pulls, reports the counter deltas", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "through", serve: [m.serveUrl], present: true, layers: ["layer-a=2400"] },
                );
                expect(r.stderr).toBe("");
                expect(r.code).toBe(0);
                expect(r.calls).toEqual([`crictl inspecti ${IMAGE}`, `crictl rmi ${IMAGE}`, `crictl pull ${IMAGE}`]);
                const v = parseVerificationOutput(r.stdout);
                expect(v).toEqual({
                    image: IMAGE,
                    node: "node-a",
                    runtime: "containerd",
                    pullSeconds: v.pullSeconds,
                    removedPreviousCopy: true,
                    throughDragonfly: true,
                    proxyRequests: 3,
                    traffic: { remotePeer: 512, localPeer: 0, backToSource: 2048 },
                    layerBytes: 2400,
                    metricsSources: 1,
                });
                expect(v.pullSeconds).toBeGreaterThan(0);
                expect(v.pullSeconds).toBeLessThan(10);
            } finally {
                await m.close();
            }
        });

        test("no local copy: nothing is removed", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "through", serve: [m.serveUrl] },
                );
                expect(r.code).toBe(0);
                expect(r.calls).toEqual([`crictl inspecti ${IMAGE}`, `crictl pull ${IMAGE}`]);
                expect(parseVerificationOutput(r.stdout).removedPreviousCopy).toBe(false);
            } finally {
                await m.close();
            }
        });

        test("a pull that bypassed Dragonfly fails with a clear message (and still reports what it saw)", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "direct" },
                );
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(`the pull of ${IMAGE} did NOT go through Dragonfly`);
                expect(r.stderr).toContain("NO_PROXY");
                const v = parseVerificationOutput(r.stdout);
                expect(v.throughDragonfly).toBe(false);
                expect(v.proxyRequests).toBe(0);
                expect(v.traffic).toEqual({ remotePeer: 0, localPeer: 0, backToSource: 0 });
            } finally {
                await m.close();
            }
        });

        test("a direct pull while other requests pass through the proxy FAILS (the request counter moved, no download)", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "direct", noise: [m.noiseUrl], layers: ["layer-a=3000"] },
                );
                expect(r.code).toBe(1);
                const v = parseVerificationOutput(r.stdout);
                expect(v.proxyRequests).toBe(5);
                expect(v.traffic).toEqual({ remotePeer: 0, localPeer: 0, backToSource: 0 });
                expect(v.layerBytes).toBe(3000);
                expect(v.throughDragonfly).toBe(false);
                expect(r.stderr).toContain(
                    `the pull of ${IMAGE} did NOT go through Dragonfly: the clients downloaded 0 bytes during the pull but the pull fetched 3000 bytes of layers`,
                );
            } finally {
                await m.close();
            }
        });

        test("a direct pull while another image's blobs pass through FAILS (less traffic than this pull's layers)", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    {
                        mode: "direct",
                        noise: [m.otherPullUrl],
                        layers: ["layer-a=3000", "layer-b=1500"],
                    },
                );
                expect(r.code).toBe(1);
                const v = parseVerificationOutput(r.stdout);
                expect(v.proxyRequests).toBe(2);
                expect(v.traffic).toEqual({ remotePeer: 1000, localPeer: 0, backToSource: 0 });
                expect(v.layerBytes).toBe(4500);
                expect(v.throughDragonfly).toBe(false);
                expect(r.stderr).toContain("downloaded 1000 bytes during the pull but the pull fetched 4500 bytes");
            } finally {
                await m.close();
            }
        });

        test("a proxied pull passes: the download covers the layers it fetched (a layer already stored is not counted)", async () => {
            const m = await metricsServer();
            try {
                // A layer this image shares with another one stays in the store: not fetched, not required.
                await preload(["layer-c=90000"]);
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    {
                        mode: "through",
                        serve: [m.serveUrl],
                        noise: [m.noiseUrl],
                        layers: ["layer-a=2000", "layer-b=560", "layer-c=90000"],
                    },
                );
                expect(r.stderr).toBe("");
                expect(r.code).toBe(0);
                const v = parseVerificationOutput(r.stdout);
                // serve: 512 + 2048 bytes = exactly the 2560 bytes of the two new layers.
                expect(v.layerBytes).toBe(2560);
                expect(v.traffic).toEqual({ remotePeer: 512, localPeer: 0, backToSource: 2048 });
                expect(v.throughDragonfly).toBe(true);
            } finally {
                await m.close();
            }
        });

        test("Docker: a direct pull while other requests pass through the proxy FAILS too", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "docker", metricsUrls: [m.url] },
                    { mode: "direct", noise: [m.noiseUrl] },
                );
                expect(r.code).toBe(1);
                const v = parseVerificationOutput(r.stdout);
                expect(v.layerBytes).toBeNull();
                expect(v.proxyRequests).toBe(5);
                expect(v.throughDragonfly).toBe(false);
                expect(r.stderr).toContain("cannot measure the layer bytes the pull fetches (Docker, or no ctr)");
                expect(r.stderr).toContain("the clients downloaded 0 bytes during the pull");
            } finally {
                await m.close();
            }
        });

        test("no metrics URL readable: fails before pulling, naming the URLs and verify.metricsUrls", async () => {
            const a = await metricsServer();
            const b = await metricsServer();
            await a.close();
            await b.close();
            const r = await runScript(
                { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [a.url, b.url] },
                { mode: "through", present: true },
            );
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(`cannot read the Dragonfly client metrics at any of ${a.url} ${b.url}.`);
            expect(r.stderr).toContain("Dragonfly node pool's nodes");
            expect(r.stderr).toContain("(http://NODE-IP:4002/metrics) in verify.metricsUrls");
            // Each URL got its note with curl's reason before the failure.
            expect(r.stderr).toContain(
                `note: skipping ${a.url}: cannot read the Dragonfly client metrics there (curl:`,
            );
            expect(r.stderr).toContain(`note: skipping ${b.url}: cannot read`);
            expect(r.calls).toEqual([]);
            expect(r.stdout).toBe("");
        });

        test("an unreadable URL before the pull is skipped with a note; the readable one decides", async () => {
            const gone = await metricsServer();
            await gone.close();
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [gone.url, m.url] },
                    { mode: "through", serve: [m.serveUrl] },
                );
                expect(r.code).toBe(0);
                expect(r.stderr.trim().split("\n")).toEqual([
                    expect.stringMatching(
                        new RegExp(
                            `^dragonfly-cce verify: note: skipping ${gone.url.replace(/\./g, "\\.")}: cannot read the Dragonfly client metrics there \\(curl: \\(7\\) .*\\); no Dragonfly client on that node\\?$`,
                        ),
                    ),
                ]);
                const v = parseVerificationOutput(r.stdout);
                expect(v.throughDragonfly).toBe(true);
                expect(v.proxyRequests).toBe(3);
                expect(v.traffic).toEqual({ remotePeer: 512, localPeer: 0, backToSource: 2048 });
                expect(v.metricsSources).toBe(1);
            } finally {
                await m.close();
            }
        });

        test("a URL read before the pull that fails after it: fails (a partial sum would be wrong)", async () => {
            const a = await metricsServer();
            const b = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [a.url, b.url] },
                    { mode: "through", serve: [a.serveUrl], breakAfterPull: [b.breakUrl] },
                );
                expect(r.code).toBe(1);
                expect(r.calls).toEqual([`crictl inspecti ${IMAGE}`, `crictl pull ${IMAGE}`]);
                expect(r.stderr).toContain(
                    `cannot read the Dragonfly client metrics at ${b.url} after the pull although it was read before (curl: (22) The requested URL returned error: 503`,
                );
                expect(r.stderr).toContain("wrong delta");
                // No result line: a's counters alone are not reported as the pull's.
                expect(r.stdout).not.toContain("dragonfly-cce-verify:");
            } finally {
                await a.close();
                await b.close();
            }
        });

        test("a URL that failed before the pull is not read after it", async () => {
            const m = await metricsServer();
            // Broken from the start: skipped before the pull, so its failure after the pull does not matter.
            const broken = await metricsServer();
            await new Promise<void>((res, rej) =>
                http
                    .request(broken.breakUrl, { method: "POST" }, (resp) => {
                        resp.resume();
                        resp.on("end", res);
                    })
                    .on("error", rej)
                    .end(),
            );
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [broken.url, m.url] },
                    { mode: "through", serve: [m.serveUrl] },
                );
                expect(r.code).toBe(0);
                expect(r.stderr).toContain(`note: skipping ${broken.url}: cannot read`);
                expect(r.stderr).toContain("503");
                const v = parseVerificationOutput(r.stdout);
                expect(v.proxyRequests).toBe(3);
                expect(v.metricsSources).toBe(1);
            } finally {
                await m.close();
                await broken.close();
            }
        });

        test("a failing pull fails with the runtime's own error", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "fail" },
                );
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(`pulling ${IMAGE} with containerd failed`);
                expect(r.stderr).toContain("failed to resolve reference: not found");
            } finally {
                await m.close();
            }
        });

        test("an image in use cannot be removed: fails saying so, without pulling", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "through", serve: [m.serveUrl], present: true, inUse: true },
                );
                expect(r.code).toBe(1);
                expect(r.stderr).toContain("cannot remove the local copy");
                expect(r.stderr).toContain("image is in use by container abc");
                expect(r.calls).not.toContain(`crictl pull ${IMAGE}`);
            } finally {
                await m.close();
            }
        });

        test("metrics without download traffic: traffic is null, and the request counter alone proves nothing", async () => {
            const m = await metricsServer({ traffic: false });
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [m.url] },
                    { mode: "through", serve: [m.serveUrl] },
                );
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(`cannot tie the pull of ${IMAGE} to Dragonfly`);
                expect(r.stderr).toContain("dragonfly_client_download_traffic");
                const v = parseVerificationOutput(r.stdout);
                expect(v.traffic).toBeNull();
                expect(v.proxyRequests).toBe(3);
                expect(v.throughDragonfly).toBe(false);
            } finally {
                await m.close();
            }
        });

        test("several metrics URLs (LoadBalancer endpoint): counters are summed, another node's client counts", async () => {
            const local = await metricsServer();
            const other = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [local.url, other.url] },
                    { mode: "through", serve: [other.serveUrl] },
                );
                expect(r.code).toBe(0);
                const v = parseVerificationOutput(r.stdout);
                expect(v.throughDragonfly).toBe(true);
                expect(v.proxyRequests).toBe(3);
                expect(v.traffic).toEqual({ remotePeer: 512, localPeer: 0, backToSource: 2048 });
                expect(v.metricsSources).toBe(2);
            } finally {
                await local.close();
                await other.close();
            }
        });

        test("two clients that both served part of the pull: the deltas are summed", async () => {
            const a = await metricsServer();
            const b = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-a", runtime: "containerd", metricsUrls: [a.url, b.url] },
                    { mode: "through", serve: [a.serveUrl, b.serveUrl] },
                );
                expect(r.stderr).toBe("");
                expect(r.code).toBe(0);
                const v = parseVerificationOutput(r.stdout);
                expect(v.proxyRequests).toBe(6);
                expect(v.traffic).toEqual({ remotePeer: 1024, localPeer: 0, backToSource: 4096 });
                expect(v.metricsSources).toBe(2);
            } finally {
                await a.close();
                await b.close();
            }
        });

        test("this node's own client under another address (localhost, its own IP) is read once", async () => {
            const m = await metricsServer();
            const port = new URL(m.url).port;
            const own = Object.values(networkInterfaces())
                .flat()
                .find((i) => i !== undefined && !i.internal && i.family === "IPv4");
            if (own === undefined) {
                throw new Error("this test needs a non-loopback IPv4 address on this machine");
            }
            const viaLocalhost = `http://localhost:${port}/metrics`;
            // The stand-in listens on 127.0.0.1 only: were this URL not recognised as this node,
            // curl would be refused and the note would say "cannot read".
            const viaOwnIp = `http://${own.address}:${port}/metrics`;
            try {
                const r = await runScript(
                    {
                        image: IMAGE,
                        node: "node-a",
                        runtime: "containerd",
                        metricsUrls: [m.url, viaLocalhost, viaOwnIp],
                    },
                    { mode: "through", serve: [m.serveUrl] },
                );
                expect(r.code).toBe(0);
                const notes = r.stderr.trim().split("\n");
                expect(notes).toEqual([
                    `dragonfly-cce verify: note: skipping ${viaLocalhost}: it reaches a Dragonfly client already read (this node's own client under another address); it would count twice`,
                    `dragonfly-cce verify: note: skipping ${viaOwnIp}: it reaches a Dragonfly client already read (this node's own client under another address); it would count twice`,
                ]);
                const v = parseVerificationOutput(r.stdout);
                expect(v.proxyRequests).toBe(3);
                expect(v.traffic).toEqual({ remotePeer: 512, localPeer: 0, backToSource: 2048 });
                expect(v.metricsSources).toBe(1);
            } finally {
                await m.close();
            }
        });

        test("Docker nodes: docker image inspect, docker rmi, docker pull", async () => {
            const m = await metricsServer();
            try {
                const r = await runScript(
                    { image: IMAGE, node: "node-d", runtime: "docker", metricsUrls: [m.url] },
                    { mode: "through", serve: [m.serveUrl], present: true },
                );
                expect(r.code).toBe(0);
                expect(r.calls).toEqual([
                    `docker image inspect ${IMAGE}`,
                    `docker rmi ${IMAGE}`,
                    `docker pull ${IMAGE}`,
                ]);
                expect(parseVerificationOutput(r.stdout)).toMatchObject({
                    node: "node-d",
                    runtime: "docker",
                    throughDragonfly: true,
                });
            } finally {
                await m.close();
            }
        });
    },
);
