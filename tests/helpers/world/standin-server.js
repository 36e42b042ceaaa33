#!/usr/bin/env node
/*
 * Stand-in for the Dragonfly client's proxy port (test scaffolding, not product code).
 * Runs as its own process inside a network namespace (`ip netns exec NS node this-file CONFIG`).
 *
 * - Proxy mode, plain HTTP: absolute-form requests (`GET http://host:port/v2/...`) are forwarded.
 * - Proxy mode, HTTPS: `CONNECT host:port` is intercepted with the stand-in's OWN certificate
 *   (as the Dragonfly client does), the inner requests are forwarded to https://host:port.
 * - Mirror mode: origin-form requests carrying `X-Dragonfly-Registry: https://host:port` are
 *   forwarded to that upstream.
 * - A metrics port serves `dragonfly_client_proxy_request_total` and
 *   `dragonfly_client_download_traffic{type="BACK_TO_SOURCE"}` like the client's port 4002.
 *
 * Every request is appended to a JSON-lines file BEFORE it is forwarded, so a test that has
 * seen the pull finish can read the complete record.
 */
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const tls = require("tls");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
// cfg: { listen: {host, port}, metrics: {host, port}, records, cert, key, upstreamCa }
const secureContext = tls.createSecureContext({
    cert: fs.readFileSync(cfg.cert),
    key: fs.readFileSync(cfg.key),
});
const upstreamCa = cfg.upstreamCa ? fs.readFileSync(cfg.upstreamCa) : undefined;
let proxyRequests = 0;
let backToSourceBytes = 0;

function record(entry) {
    fs.appendFileSync(cfg.records, JSON.stringify({ time: Date.now(), ...entry }) + "\n");
}

function forward(req, res, target, via) {
    // target: URL of the upstream request
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    delete headers["x-dragonfly-registry"];
    headers.host = target.host;
    record({ via, method: req.method, host: target.host, path: target.pathname + target.search, headers: req.headers });
    proxyRequests++;
    const mod = target.protocol === "https:" ? https : http;
    const up = mod.request(
        {
            protocol: target.protocol,
            hostname: target.hostname,
            port: target.port || (target.protocol === "https:" ? 443 : 80),
            method: req.method,
            path: target.pathname + target.search,
            headers,
            ca: upstreamCa,
            agent: false,
        },
        (upRes) => {
            res.writeHead(upRes.statusCode || 502, { ...upRes.headers, "x-dragonfly-standin": "1" });
            upRes.on("data", (d) => {
                backToSourceBytes += d.length;
            });
            upRes.pipe(res);
        },
    );
    up.on("error", (e) => {
        record({ via, error: String(e), host: target.host, path: target.pathname });
        if (!res.headersSent) {
            res.writeHead(502, { "content-type": "text/plain" });
        }
        res.end(`stand-in upstream error: ${e}`);
    });
    req.pipe(up);
}

// Requests arriving inside an intercepted CONNECT tunnel.
const tunnelServer = http.createServer((req, res) => {
    const target = new URL(req.url, `https://${req.socket.standinTarget}`);
    forward(req, res, target, "connect");
});

const server = http.createServer((req, res) => {
    if (/^https?:\/\//i.test(req.url)) {
        forward(req, res, new URL(req.url), "proxy");
        return;
    }
    const upstream = req.headers["x-dragonfly-registry"];
    if (typeof upstream === "string" && upstream !== "") {
        forward(req, res, new URL(req.url, upstream), "mirror");
        return;
    }
    record({ via: "rejected", method: req.method, host: req.headers.host || "", path: req.url, headers: req.headers });
    res.writeHead(400, { "content-type": "text/plain" });
    res.end("stand-in: neither a proxy request nor X-Dragonfly-Registry\n");
});

server.on("connect", (req, clientSocket, head) => {
    record({ via: "connect", method: "CONNECT", host: req.url, path: "", headers: req.headers });
    clientSocket.on("error", (e) => process.stderr.write(`stand-in: tunnel to ${req.url}: ${e}\n`));
    clientSocket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head && head.length) {
        clientSocket.unshift(head);
    }
    const tlsSocket = new tls.TLSSocket(clientSocket, { isServer: true, secureContext });
    tlsSocket.standinTarget = req.url;
    tlsSocket.on("error", (e) => process.stderr.write(`stand-in: TLS in tunnel to ${req.url}: ${e}\n`));
    tunnelServer.emit("connection", tlsSocket);
});

// A client (containerd) going away mid-connection must not take the stand-in down.
for (const srv of [server, tunnelServer]) {
    srv.on("clientError", (e, socket) => socket.destroy());
}
process.on("uncaughtException", (e) => {
    process.stderr.write(`stand-in: uncaught ${e && e.stack ? e.stack : e}\n`);
});

const metrics = http.createServer((req, res) => {
    if (req.url !== "/metrics") {
        res.writeHead(404);
        res.end();
        return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(
        [
            "# HELP dragonfly_client_proxy_request_total Counter of the number of the proxy request.",
            "# TYPE dragonfly_client_proxy_request_total counter",
            `dragonfly_client_proxy_request_total ${proxyRequests}`,
            "# HELP dragonfly_client_download_traffic Counter of the number of the download traffic.",
            "# TYPE dragonfly_client_download_traffic counter",
            `dragonfly_client_download_traffic{task_type="standard",type="BACK_TO_SOURCE"} ${backToSourceBytes}`,
            `dragonfly_client_download_traffic{task_type="standard",type="REMOTE_PEER"} 0`,
            "",
        ].join("\n"),
    );
});

let pending = 2;
function ready() {
    if (--pending === 0) {
        process.stdout.write("ready\n");
    }
}
server.listen(cfg.listen.port, cfg.listen.host, ready);
metrics.listen(cfg.metrics.port, cfg.metrics.host, ready);
