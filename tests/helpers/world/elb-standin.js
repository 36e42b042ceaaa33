#!/usr/bin/env node
// A stand-in for CCE's ELB controller in the local world. Like CCE, it gives a LoadBalancer
// Service an address only when the Service asks for an ELB: the `kubernetes.io/elb.class`
// annotation plus either `kubernetes.io/elb.autocreate` or `kubernetes.io/elb.id`. The address is
// the one the world routes to the Dragonfly client (argv[2] is a JSON object: server, ca, token,
// address). Services without those annotations stay pending, as they would on CCE; each is
// logged once.
"use strict";

const fs = require("fs");
const https = require("https");

const cfg = JSON.parse(process.argv[2]);
const ca = fs.readFileSync(cfg.ca);
const warned = new Set();

function request(method, path, body, contentType) {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, cfg.server);
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: url.hostname,
                port: url.port,
                path: url.pathname + url.search,
                method,
                ca,
                timeout: 10000,
                headers: {
                    Authorization: `Bearer ${cfg.token}`,
                    Accept: "application/json",
                    ...(data === undefined ? {} : { "Content-Type": contentType }),
                },
            },
            (res) => {
                const chunks = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timeout`)));
        req.on("error", reject);
        req.end(data);
    });
}

function wantsElb(svc) {
    const a = (svc.metadata && svc.metadata.annotations) || {};
    return (
        Boolean(a["kubernetes.io/elb.class"]) && Boolean(a["kubernetes.io/elb.autocreate"] || a["kubernetes.io/elb.id"])
    );
}

async function reconcile() {
    const r = await request("GET", "/api/v1/services");
    if (r.status !== 200) {
        throw new Error(`list services: ${r.status} ${r.text.slice(0, 200)}`);
    }
    for (const svc of JSON.parse(r.text).items) {
        if (svc.spec.type !== "LoadBalancer") {
            continue;
        }
        const id = `${svc.metadata.namespace}/${svc.metadata.name}`;
        const ingress = (svc.status && svc.status.loadBalancer && svc.status.loadBalancer.ingress) || [];
        if (ingress.length > 0) {
            continue;
        }
        if (!wantsElb(svc)) {
            if (!warned.has(id)) {
                warned.add(id);
                console.log(`elb: ${id} has no kubernetes.io/elb.class with elb.autocreate or elb.id: no ELB`);
            }
            continue;
        }
        const path = `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`;
        const patch = { status: { loadBalancer: { ingress: [{ ip: cfg.address }] } } };
        const p = await request("PATCH", path, patch, "application/merge-patch+json");
        console.log(`elb: ${id} -> ${cfg.address} (${p.status})`);
    }
}

async function loop() {
    for (;;) {
        try {
            await reconcile();
        } catch (e) {
            console.log(`elb: ${e.message}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

loop();
