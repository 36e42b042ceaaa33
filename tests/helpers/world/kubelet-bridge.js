#!/usr/bin/env node
/*
 * A byte relay between network namespaces (test scaffolding): `kubelet-bridge.js LISTEN TARGET`,
 * each `tcp:HOST:PORT` or `unix:PATH`. Unix sockets belong to no network namespace, so a relay
 * in the hub (unix -> the API server on the hub's loopback) and one in the kubelet node
 * (127.0.0.1:6443 -> unix) give the node the API server at the address its certificate names.
 */
"use strict";
const fs = require("fs");
const net = require("net");

function parse(spec) {
    if (spec.startsWith("unix:")) {
        return { path: spec.slice(5) };
    }
    const m = /^tcp:(.+):(\d+)$/.exec(spec);
    if (!m) {
        process.stderr.write(`kubelet-bridge: not tcp:HOST:PORT or unix:PATH: ${spec}\n`);
        process.exit(2);
    }
    return { host: m[1], port: Number(m[2]) };
}

const listen = parse(process.argv[2]);
const target = parse(process.argv[3]);
if (listen.path) {
    fs.rmSync(listen.path, { force: true });
}
const server = net.createServer((client) => {
    const upstream = net.connect(target);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream).pipe(client);
});
server.listen(listen, () => {
    if (listen.path) {
        fs.chmodSync(listen.path, 0o600);
    }
    process.stdout.write(`kubelet-bridge: ${process.argv[2]} -> ${process.argv[3]}\n`);
});
process.on("SIGTERM", () => process.exit(0));
