#!/usr/bin/env node
/*
 * The kubelet world's cluster DNS stand-in (test scaffolding; there is no CoreDNS and no
 * kube-proxy): answers A queries for `<service>.<ns>.svc.<domain>` with the addresses of the
 * Service's ready Endpoints, and `<hostname>.<service>.<ns>.svc.<domain>` with the endpoint of
 * that hostname (StatefulSet pods), read from the API server at each query. Because ClusterIPs
 * carry no traffic here, a Service name resolves to its pods, as a headless Service's does.
 * Anything else: NXDOMAIN; AAAA: no answer.
 *
 * Usage: dns-standin.js CONFIG.json  ({listen, server, ca, tokenFile, domain})
 */
"use strict";
const dgram = require("dgram");
const fs = require("fs");
const https = require("https");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const token = fs.readFileSync(cfg.tokenFile, "utf8").trim();
const ca = fs.readFileSync(cfg.ca);

function get(path) {
    return new Promise((resolve) => {
        const req = https.get(
            `${cfg.server}${path}`,
            { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 3000 },
            (res) => {
                const chunks = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () => {
                    try {
                        resolve(
                            res.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined,
                        );
                    } catch {
                        resolve(undefined);
                    }
                });
            },
        );
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(undefined));
    });
}

async function resolveName(name) {
    const suffix = `.svc.${cfg.domain}`;
    if (!name.endsWith(suffix)) {
        return undefined;
    }
    const parts = name.slice(0, -suffix.length).split(".");
    if (parts.length < 2 || parts.length > 3) {
        return undefined;
    }
    const [host, svc, ns] = parts.length === 3 ? parts : [undefined, ...parts];
    const ep = await get(`/api/v1/namespaces/${ns}/endpoints/${svc}`);
    if (!ep) {
        return undefined;
    }
    const addrs = (ep.subsets || []).flatMap((s) => s.addresses || []);
    return addrs.filter((a) => host === undefined || a.hostname === host).map((a) => a.ip);
}

function readName(msg, offset) {
    const labels = [];
    while (msg[offset] !== 0) {
        const len = msg[offset];
        labels.push(msg.subarray(offset + 1, offset + 1 + len).toString("ascii"));
        offset += len + 1;
    }
    return { name: labels.join(".").toLowerCase(), end: offset + 1 };
}

async function answer(msg) {
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const ips = await resolveName(name);
    const records = qtype === 1 && ips ? ips : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    const rcode = ips === undefined || (ips.length === 0 && qtype === 1) ? 3 : 0;
    header.writeUInt16BE(0x8180 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const rrs = records.map((ip) => {
        const rr = Buffer.alloc(16);
        rr.writeUInt16BE(0xc00c, 0);
        rr.writeUInt16BE(1, 2);
        rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(5, 6);
        rr.writeUInt16BE(4, 10);
        ip.split(".").forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
        return rr;
    });
    return Buffer.concat([header, question, ...rrs]);
}

const sock = dgram.createSocket("udp4");
sock.on("message", (msg, rinfo) => {
    answer(msg)
        .then((reply) => sock.send(reply, rinfo.port, rinfo.address))
        .catch((e) => process.stderr.write(`dns-standin: ${e}\n`));
});
sock.bind(cfg.listen.port, cfg.listen.host, () =>
    process.stdout.write(`dns-standin: on ${cfg.listen.host}:${cfg.listen.port}\n`),
);
process.on("SIGTERM", () => process.exit(0));
