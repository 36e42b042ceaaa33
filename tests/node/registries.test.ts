/**
 * Issue 18, items 5 and 6, against Debian's real containerd in a private mount namespace (see
 * sandbox.ts): another proxy set through `EnvironmentFile=` or the runtime's own unit file is
 * refused like one set by `Environment=`; mirror mode carries the Docker-style certificate files
 * of `certs.d/<host>/` into the hosts.toml it writes. Each test failed before its fix.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "smol-toml";
import { describePrivileged } from "../helpers/privileged";
import { makeCa, makeLeaf, newCertificateArgs } from "../helpers/world/certs";
import { CriClient } from "../helpers/world/cri";
import { run } from "../helpers/world/exec";
import { buildImage, pushImage } from "../helpers/world/image";
import { Registry } from "../helpers/world/registry";
import { NodeSandbox } from "./sandbox";
import {
    apply,
    CRI,
    criStatus,
    DROPIN,
    ENDPOINT,
    nodeWith,
    ok,
    restartContainerd,
    restore,
    spec,
    state,
    SWR,
} from "./nodeHelpers";

const BASE = `version = 2

[plugins]
  [plugins."${CRI}"]
    sandbox_image = "cce-pause:3.1"
`;
const DROPIN_DIR = "/etc/systemd/system/containerd.service.d";
const CORP = "http://corp-proxy.example.com:3128";

describePrivileged(
    "node scripts: other proxies however systemd gets them, certs.d files in mirror mode (root, unshare -m)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk"] },
    () => {
        const boxes: NodeSandbox[] = [];
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
        });

        /** Applies `spec()` and expects a refusal naming `source`, with nothing changed. */
        function expectRefused(box: NodeSandbox, source: string): void {
            const before = state(box);
            const restarts = box.restarts();
            const r = apply(box, spec());
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(`${source} sets HTTPS_PROXY=${CORP}, another proxy than Dragonfly's`);
            expect(r.stderr).toContain("Nothing was changed.");
            expect(r.stderr).not.toContain("ops:pw");
            expect(state(box)).toEqual(before);
            expect(box.restarts()).toBe(restarts);
        }

        test("a drop-in's EnvironmentFile= that sets another proxy is refused like Environment=, naming both files", async () => {
            const box = await nodeWith(boxes, BASE);
            const envFile = "/etc/systemd/system/corp-proxy.env";
            const dropin = `${DROPIN_DIR}/20-corp.conf`;
            // systemd reads EnvironmentFile= after every Environment= line: this one would win over ours.
            for (const [line, content] of [
                [`EnvironmentFile=${envFile}`, `# corp\nHTTPS_PROXY=http://ops:pw@corp-proxy.example.com:3128\n`],
                [`EnvironmentFile=-${envFile}`, `NO_PROXY=.corp\r\nHTTPS_PROXY="${CORP}/"\r\n`],
                // Indented, and a wildcard expression (systemd.exec(5)).
                [`  EnvironmentFile=-/etc/systemd/system/corp-*.env`, `HTTPS_PROXY=${CORP}\n`],
            ]) {
                box.write(envFile, content, 0o600);
                box.write(dropin, `[Service]\n${line}\n`);
                restartContainerd(box);
                expect(box.containerdEnv().HTTPS_PROXY).toMatch(/corp-proxy/);
                expectRefused(box, `${envFile} (EnvironmentFile= of ${dropin})`);
            }
            // One that names the Dragonfly proxy, or an optional file that is missing, is fine.
            box.write(envFile, `HTTPS_PROXY=${ENDPOINT}\n`);
            const accepted = apply(box, spec());
            expect(ok(accepted)).toMatch(/restarted=yes\n$/);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            box.sh(`rm -f ${envFile}`);
            ok(apply(box, spec()));
            ok(restore(box, spec()));
            expect(criStatus(box)).toBe("ok");
        });

        test("the runtime's effective environment: another proxy in its unit file, wherever systemd loads it from, is refused", async () => {
            const box = await nodeWith(boxes, BASE);
            const unit = "/etc/systemd/system/containerd.service";
            const envFile = "/etc/systemd/system/containerd.env";
            box.write(envFile, `HTTPS_PROXY=${CORP}\n`);
            for (const line of [`Environment="HTTPS_PROXY=${CORP}"`, `EnvironmentFile=${envFile}`]) {
                box.write(unit, `[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n${line}\n`);
                restartContainerd(box);
                expect(box.containerdEnv().HTTPS_PROXY).toBe(CORP);
                expectRefused(
                    box,
                    line.startsWith("EnvironmentFile") ? `${envFile} (EnvironmentFile= of ${unit})` : unit,
                );
            }
            expect(box.exists(DROPIN)).toBe(false);
        });

        test("Docker: the unit's EnvironmentFile=-/etc/sysconfig/docker style setting of another proxy is refused too", async () => {
            const box = await nodeWith(boxes, BASE);
            const unit = "/etc/systemd/system/docker.service";
            const envFile = "/etc/docker/sysconfig";
            box.write(unit, `[Service]\nEnvironmentFile=-${envFile}\nExecStart=/usr/bin/dockerd\n`);
            box.write(envFile, `OPTIONS=--selinux-enabled\nHTTP_PROXY=${CORP}\n`);
            const before = state(box);
            const r = apply(box, spec({ runtime: "docker" }));
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(
                `${envFile} (EnvironmentFile= of ${unit}) sets HTTP_PROXY=${CORP}, another proxy than Dragonfly's`,
            );
            expect(state(box)).toEqual(before);
        });
    },
);

/** A TCP port nothing listens on right now (on loopback). */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

describePrivileged(
    "mirror mode keeps certs.d/<host>'s Docker-style certificate files in force (root, unshare -m, docker-registry)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk", "docker-registry", "openssl", "curl"] },
    () => {
        const boxes: NodeSandbox[] = [];
        const dirs: string[] = [];
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
            for (const d of dirs) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        });

        test("ca.crt and client.cert/.key of the registry's directory go into the hosts.toml mirror mode writes, beside moved settings", async () => {
            const R = `plugins."${CRI}".registry`;
            const config = `${BASE}    [${R}.configs."${SWR}".tls]\n      ca_file = "/etc/pki/swr.pem"\n`;
            const box = await nodeWith(boxes, config);
            const dir = `/etc/containerd/certs.d/${SWR}`;
            for (const f of ["ca.crt", "extra,1.crt", "client.cert", "client.key", "solo.cert", "orphan.key"]) {
                box.write(`${dir}/${f}`, `${f}\n`, f.endsWith(".key") ? 0o600 : 0o644);
            }
            const before = state(box);
            const s = spec({ mode: "mirror", registries: [SWR] });
            ok(apply(box, s));
            const hosts = parse(box.read(`${dir}/hosts.toml`)) as Record<string, any>;
            expect(hosts.server).toBe(`https://${SWR}`);
            // As containerd reads the files without hosts.toml: every *.crt a CA, every *.cert a
            // client certificate with the *.key of the same name (none: the cert file holds both).
            expect(hosts.ca).toEqual(["/etc/pki/swr.pem", `${dir}/ca.crt`, `${dir}/extra,1.crt`]);
            expect(hosts.client).toEqual([
                [`${dir}/client.cert`, `${dir}/client.key`],
                [`${dir}/solo.cert`, ""],
            ]);
            expect(hosts.host[ENDPOINT].header["X-Dragonfly-Registry"]).toBe(`https://${SWR}`);
            expect(criStatus(box)).toBe("ok");
            expect(ok(apply(box, s))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            // A file added later is taken in by the next apply, without a restart.
            box.write(`${dir}/new.crt`, "new\n");
            expect(ok(apply(box, s))).toBe(`dragonfly-cce: changed=${dir}/hosts.toml, restarted=no\n`);
            box.sh(`rm ${dir}/new.crt`);
            ok(restore(box, s));
            expect(state(box)).toEqual(before);

            // A file name that hosts.toml cannot quote safely is refused, named; nothing changes.
            box.write(`${dir}/we"ird.crt`, "x\n");
            const other = state(box);
            const r = apply(box, s);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(`${dir}/we"ird.crt: a certificate file whose name has`);
            expect(state(box)).toEqual(other);
        });

        test("allRegistries: the files of certs.d/_default/ go into _default/hosts.toml too", async () => {
            const box = await nodeWith(boxes, BASE);
            const dir = "/etc/containerd/certs.d/_default";
            box.write(`${dir}/ca.crt`, "ca\n");
            const before = state(box);
            const s = spec({ mode: "mirror", registries: [SWR], allRegistries: true });
            ok(apply(box, s));
            const hosts = parse(box.read(`${dir}/hosts.toml`)) as Record<string, any>;
            expect(hosts.ca).toEqual([`${dir}/ca.crt`]);
            expect(hosts.host[ENDPOINT].capabilities).toEqual(["pull", "resolve"]);
            expect(ok(apply(box, s))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, s));
            expect(state(box)).toEqual(before);
        });

        test("config_path with several directories: the files of the first one that has the registry's directory are carried; a hosts.toml there is not hidden", async () => {
            const R = `plugins."${CRI}".registry`;
            const config = `${BASE}    [${R}]\n      config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"\n`;
            const box = await nodeWith(boxes, config);
            const docker = `/etc/docker/certs.d/${SWR}`;
            box.write(`${docker}/ca.crt`, "ca\n");
            const before = state(box);
            const s = spec({ mode: "mirror", registries: [SWR] });
            ok(apply(box, s));
            const hosts = parse(box.read(`/etc/containerd/certs.d/${SWR}/hosts.toml`)) as Record<string, any>;
            expect(hosts.ca).toEqual([`${docker}/ca.crt`]);
            ok(restore(box, s));
            expect(state(box)).toEqual(before);

            box.write(`${docker}/hosts.toml`, `server = "https://${SWR}"\n`);
            const other = state(box);
            const r = apply(box, s);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(
                `${docker}/hosts.toml configures ${SWR}, and config_path lists /etc/docker/certs.d after /etc/containerd/certs.d`,
            );
            expect(state(box)).toEqual(other);
        });

        test.each([
            ["a private-CA registry, trusted through certs.d/<host>/ca.crt", false],
            ["a registry that requires client certificates (client.cert, client.key)", true],
        ])(
            "mirror mode with the Dragonfly endpoint down: a CRI pull falls back to %s",
            async (_what, mtls) => {
                const work = fs.mkdtempSync(path.join(os.tmpdir(), "dfcce-private-reg-"));
                dirs.push(work);
                const ca = await makeCa(work, "private");
                const leaf = await makeLeaf(work, "private-registry", ca, ["127.0.0.1"]);
                const client = { cert: `${work}/client.cert`, key: `${work}/client.key` };
                await run(
                    "openssl",
                    newCertificateArgs(client.cert, client.key, "/CN=node", [
                        "-CA",
                        ca.cert,
                        "-CAkey",
                        ca.key,
                        "-addext",
                        "extendedKeyUsage=clientAuth",
                    ]),
                );
                const port = await freePort();
                const down = await freePort();
                const registry = new Registry({
                    name: "private",
                    netns: "",
                    listen: `127.0.0.1:${port}`,
                    reachAt: `127.0.0.1:${port}`,
                    tls: {
                        cert: leaf.cert,
                        key: leaf.key,
                        ca: ca.cert,
                        ...(mtls ? { clientCa: ca.cert, client } : {}),
                    },
                    dir: work,
                });
                const box = await nodeWith(boxes, BASE);
                const cri = new CriClient(box.p(`${box.dir}/ctd/containerd.sock`));
                try {
                    await registry.start("");
                    const host = `127.0.0.1:${port}`;
                    if (mtls) {
                        // The registry refuses a client without a certificate.
                        const bare = await run("curl", ["-sS", "--cacert", ca.cert, `${registry.baseUrl}/v2/`], {
                            allowFailure: true,
                        });
                        expect(bare.code).not.toBe(0);
                    }
                    const image = buildImage("team/app", "v1", `fallback-${port}`);
                    await pushImage(
                        { baseUrl: registry.baseUrl, netns: "", caFile: ca.cert, workDir: `${work}/push`, client },
                        image,
                    );
                    const dir = `/etc/containerd/certs.d/${host}`;
                    box.write(`${dir}/ca.crt`, fs.readFileSync(ca.cert, "utf8"));
                    if (mtls) {
                        box.write(`${dir}/client.cert`, fs.readFileSync(client.cert, "utf8"));
                        box.write(`${dir}/client.key`, fs.readFileSync(client.key, "utf8"), 0o600);
                    }
                    const s = spec({ mode: "mirror", registries: [host], endpoint: `http://127.0.0.1:${down}` });
                    ok(apply(box, s));
                    const mark = registry.mark();
                    expect(await cri.pull(`${host}/team/app:v1`)).toBe(image.config.digest);
                    // Straight from the registry (the endpoint is down), over verified TLS.
                    expect(registry.requestsSince(mark).some((q) => q.uri.includes(image.layer.digest))).toBe(true);
                    ok(restore(box, s));
                } finally {
                    cri.close();
                    registry.stop();
                }
            },
            60_000,
        );
    },
);
