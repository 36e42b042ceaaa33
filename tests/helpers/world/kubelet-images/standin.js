#!/bin/node
/*
 * The program of the kubelet world's stand-in images (test scaffolding, not product code): one
 * file, one role per image, each answering what the chart's probes and the project's own checks
 * ask of that workload.
 *
 *   manager    the console API on :8080 (the console stand-in the password rotation talks to),
 *              gRPC :65003 and REST :8000 as plain listeners (grpc_health_probe connects)
 *   scheduler  :8002 (gRPC, probed) and :8000
 *   client     /var/run/dragonfly/dfdaemon.sock (probed), :4000 and :4003-4006 as listeners, and
 *              the proxy :4001 with metrics :4002 (standin-server.js, the world's client stand-in)
 *   mysql      :3306 (mysqladmin connects)
 *   redis      RESP on --port: AUTH and PING (redis-cli), the rest answered +OK
 */
"use strict";
const fs = require("fs");
const net = require("net");
const path = require("path");

const role = process.argv[2];
const args = process.argv.slice(3);

function listen(port, onConnection) {
    const srv = net.createServer(onConnection || ((s) => s.on("error", () => undefined)));
    srv.listen(port, "0.0.0.0", () => process.stdout.write(`${role}: listening on :${port}\n`));
    return srv;
}

function argValue(name, fallback) {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

function redis(socket) {
    let buf = "";
    socket.on("error", () => undefined);
    socket.on("data", (d) => {
        buf += d.toString("utf8");
        // Inline commands and RESP arrays; answer once per complete command.
        for (;;) {
            let words;
            if (buf.startsWith("*")) {
                const lines = buf.split("\r\n");
                const n = Number(lines[0].slice(1));
                if (lines.length < 2 * n + 2) {
                    return;
                }
                words = [];
                for (let i = 0; i < n; i++) {
                    words.push(lines[2 + 2 * i]);
                }
                buf = lines.slice(2 * n + 1).join("\r\n");
            } else {
                const end = buf.indexOf("\n");
                if (end < 0) {
                    return;
                }
                words = buf.slice(0, end).trim().split(/\s+/);
                buf = buf.slice(end + 1);
            }
            const cmd = (words[0] || "").toUpperCase();
            socket.write(cmd === "PING" ? "+PONG\r\n" : "+OK\r\n");
        }
    });
}

process.on("SIGTERM", () => process.exit(0));

switch (role) {
    case "manager": {
        const { StandInManager } = require("./standInManager.js");
        // The console stand-in listens on loopback only; :8080 relays to it on every address.
        const consoleApi = new StandInManager({ port: 18080 });
        consoleApi.listen().then(() => process.stdout.write("manager: console API on :8080\n"));
        listen(8080, (s) => {
            const upstream = net.connect(18080, "127.0.0.1");
            s.on("error", () => upstream.destroy());
            upstream.on("error", () => s.destroy());
            s.pipe(upstream).pipe(s);
        });
        listen(65003);
        listen(8000);
        break;
    }
    case "scheduler":
        listen(8002);
        listen(8000);
        break;
    case "client": {
        const sock = "/var/run/dragonfly/dfdaemon.sock";
        fs.mkdirSync(path.dirname(sock), { recursive: true });
        fs.rmSync(sock, { force: true });
        net.createServer((s) => s.on("error", () => undefined)).listen(sock);
        for (const port of [4000, 4003, 4004, 4005, 4006]) {
            listen(port);
        }
        const cfg = "/standin/client-proxy.json";
        process.argv = [process.argv[0], "/standin/standin-server.js", cfg];
        require("./standin-server.js");
        break;
    }
    case "mysql":
        listen(3306, (s) => {
            s.on("error", () => undefined);
            s.end();
        });
        break;
    case "redis":
        listen(Number(argValue("--port", "6379")), redis);
        break;
    default:
        process.stderr.write(`standin: unknown role '${role}'\n`);
        process.exit(2);
}
