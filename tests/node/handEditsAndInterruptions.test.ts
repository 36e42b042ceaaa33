/**
 * The node-script defects of issue 11's review, each against Debian's real containerd 1.6 in a
 * private mount namespace (see sandbox.ts). Each test failed before its fix.
 */
import { spawnSync } from "child_process";
import { parse } from "smol-toml";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describePrivileged } from "../helpers/privileged";
import { NodeSandbox } from "./sandbox";
import {
    apply,
    CONFIG,
    CRI,
    criStatus,
    DROPIN,
    dump,
    ENDPOINT,
    LOCAL_REG,
    nodeWith,
    ok,
    restartContainerd,
    restore,
    SANDBOX_IMAGE_ONLY,
    spec,
    state,
    SWR,
} from "./nodeHelpers";

const BASE = SANDBOX_IMAGE_ONLY;

/** The copies under /var/lib/dragonfly-cce/kept, path relative to it -> content. */
function kept(box: NodeSandbox): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [p, v] of Object.entries(box.snapshot("/var/lib/dragonfly-cce/kept"))) {
        if (v !== "dir") {
            out[p.replace(/^\/var\/lib\/dragonfly-cce\/kept\/[^/]+/, "")] = Buffer.from(
                v.split(" ")[1],
                "base64",
            ).toString("utf8");
        }
    }
    return out;
}

describePrivileged(
    "node script review defects against real containerd (root, unshare -m)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk", "systemd-analyze"] },
    () => {
        const boxes: NodeSandbox[] = [];
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
        });

        test("restore keeps an operator's edit made after the apply where its warning says", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            const edited = `${box.read(CONFIG)}# ops: kept on purpose\n`;
            box.write(CONFIG, edited);
            const r = restore(box, spec());
            ok(r);
            expect(box.read(CONFIG)).toBe(BASE);
            const copies = kept(box);
            expect(copies).toEqual({ [CONFIG]: edited });
            const where = /kept as (\S+)/.exec(r.stderr)?.[1];
            expect(where).toBeDefined();
            expect(box.read(where!)).toBe(edited);
            expect(r.stderr).toContain("stay under /var/lib/dragonfly-cce/kept");
        });

        test("an edit followed by an apply with other registries is kept and announced, then survives restore", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            const edited = `${box.read(CONFIG)}# ops: kept on purpose\n`;
            box.write(CONFIG, edited);
            const second = apply(box, spec({ registries: [SWR] }));
            ok(second);
            expect(second.stderr).toMatch(/config\.toml was changed after dragonfly-cce wrote it.*kept as \S+/s);
            // The live file keeps the edit.
            expect(box.read(CONFIG)).toContain("# ops: kept on purpose\n");
            const r = restore(box, spec());
            ok(r);
            expect(box.read(CONFIG)).toBe(BASE);
            expect(kept(box)).toEqual({ [CONFIG]: edited });
            expect(r.stderr).toContain("stay under /var/lib/dragonfly-cce/kept");
        });

        test("an apply killed at systemctl restart finishes the restart on the retry", async () => {
            const box = await nodeWith(boxes, BASE);
            const killed = apply(box, spec(), { env: { STANDIN_KILL_CALLER: "1" } });
            expect(killed.code).not.toBe(0);
            expect(killed.stdout).toBe("");
            // The files are written, the running containerd still has its old environment.
            expect(box.read(DROPIN)).toContain(`HTTPS_PROXY=${ENDPOINT}`);
            expect(box.containerdEnv().HTTPS_PROXY).toBeUndefined();
            const retry = apply(box, spec());
            expect(ok(retry)).toBe("dragonfly-cce: changed=-, restarted=yes\n");
            expect(retry.stderr).toContain("did not finish restarting containerd");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            expect(criStatus(box)).toBe("ok");
            expect(ok(apply(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, spec()));
            expect(box.read(CONFIG)).toBe(BASE);
        });

        test("a restore killed at systemctl restart restarts on the retry", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            const killed = restore(box, spec(), { env: { STANDIN_KILL_CALLER: "1" } });
            expect(killed.code).not.toBe(0);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            expect(ok(restore(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=yes\n");
            expect(box.containerdEnv().HTTPS_PROXY).toBeUndefined();
            expect(box.exists("/var/lib/dragonfly-cce")).toBe(false);
        });

        test("proxy mode skips TLS verification for docker.io where containerd looks: registry-1.docker.io", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec({ registries: ["docker.io", SWR] })));
            const configs = dump(box).plugins[CRI].registry.configs;
            expect(configs["registry-1.docker.io"].tls.insecure_skip_verify).toBe(true);
            expect(configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(configs["docker.io"]).toBeUndefined();
            ok(restore(box, spec()));
        });

        test("proxy to mirror after an outside edit: our own configs.tls tables go, the edit stays, the user's table moves to hosts.toml", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            box.write(CONFIG, `${box.read(CONFIG)}# ops: kept on purpose\n`);
            const restarts = box.restarts();
            const r = apply(box, spec({ mode: "mirror" }));
            ok(r);
            expect(r.stderr).toMatch(/changed after dragonfly-cce wrote it.*kept as/s);
            expect(box.restarts()).toBe(restarts + 1);
            expect(box.read(CONFIG)).toContain("# ops: kept on purpose\n");
            expect(box.read(CONFIG)).not.toContain("insecure_skip_verify");
            const registry = dump(box).plugins[CRI].registry;
            expect(registry.config_path).toBe("/etc/containerd/certs.d");
            expect(registry.configs?.[SWR]).toBeUndefined();
            expect(criStatus(box)).toBe("ok");
            expect(box.exists(DROPIN)).toBe(false);
            ok(restore(box, spec()));
            expect(box.read(CONFIG)).toBe(BASE);

            // A TLS table that was there before us is the user's: mirror mode moves it into
            // hosts.toml (ours go), the edit stays.
            const theirs = `${BASE}\n[plugins."${CRI}".registry.configs."other.example.com".tls]\n  insecure_skip_verify = true\n`;
            box.write(CONFIG, theirs);
            ok(apply(box, spec()));
            box.write(CONFIG, `${box.read(CONFIG)}# ops\n`);
            ok(apply(box, spec({ mode: "mirror" })));
            expect(box.read(CONFIG)).not.toContain("insecure_skip_verify");
            expect(box.read(CONFIG)).toContain("# ops\n");
            expect(box.read("/etc/containerd/certs.d/other.example.com/hosts.toml")).toContain("skip_verify = true\n");
            expect(box.exists(`/etc/containerd/certs.d/${SWR}/hosts.toml`)).toBe(true);
            expect(criStatus(box)).toBe("ok");
            ok(restore(box, spec()));
            expect(box.read(CONFIG)).toBe(theirs);
        });

        test("an existing certs.d/<host>/hosts.toml that is not ours is refused, named, and left as it is", async () => {
            const box = await nodeWith(boxes, BASE);
            const mine = `server = "https://${SWR}"\n\n[host."https://${SWR}"]\n  ca = "/etc/pki/swr-ca.pem"\n  [host."https://${SWR}".header]\n    Authorization = "Basic b3BzOnNlY3JldA=="\n`;
            box.write(`/etc/containerd/certs.d/${SWR}/hosts.toml`, mine);
            const before = state(box);
            const restarts = box.restarts();
            for (const s of [spec({ mode: "mirror" }), spec({ mode: "mirror", registries: [LOCAL_REG, SWR] })]) {
                const r = apply(box, s);
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(
                    `/etc/containerd/certs.d/${SWR}/hosts.toml exists and was not written by dragonfly-cce`,
                );
                expect(r.stderr).toContain("Nothing was changed.");
                expect(state(box)).toEqual(before);
            }
            expect(box.restarts()).toBe(restarts);
            // One that says what ours would say is adopted, and restore gives it back.
            box.sh(`rm -r /etc/containerd/certs.d/${SWR}`);
            const s = spec({ mode: "mirror", registries: [SWR] });
            ok(apply(box, s));
            const ours = box.read(`/etc/containerd/certs.d/${SWR}/hosts.toml`);
            ok(restore(box, s));
            box.write(`/etc/containerd/certs.d/${SWR}/hosts.toml`, ours);
            const adopted = state(box);
            ok(apply(box, s));
            ok(restore(box, s));
            expect(state(box)).toEqual(adopted);
        });

        test("a node configured by hand with the seed document's steps: proxy mode adopts them; another proxy is refused naming the file", async () => {
            const seeded = `${BASE}    [plugins."${CRI}".registry]\n      [plugins."${CRI}".registry.configs."${SWR}".tls]\n        insecure_skip_verify = true\n`;
            const box = await nodeWith(boxes, seeded);
            box.write(DROPIN, `[Service]\nEnvironment="HTTP_PROXY=${ENDPOINT}" "HTTPS_PROXY=${ENDPOINT}/"\n`);
            box.write("/etc/docker/daemon.json", `{"insecure-registries": ["${SWR}"]}\n`);
            restartContainerd(box);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(`${ENDPOINT}/`);
            const before = state(box);
            const r = apply(box, spec());
            ok(r);
            expect(r.stderr).toBe("");
            // The registry's TLS table is adopted, not duplicated; the hand drop-in gives way to ours.
            expect(
                box.read(CONFIG).match(new RegExp(`configs\\."${SWR.replace(/\./g, "\\.")}"\\.tls`, "g")),
            ).toHaveLength(1);
            expect(dump(box).plugins[CRI].registry.configs[LOCAL_REG].tls.insecure_skip_verify).toBe(true);
            expect(box.read(DROPIN)).toContain("NO_PROXY=");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            expect(ok(apply(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);

            // Docker: the listed registry is not listed twice.
            const docker = spec({ runtime: "docker" });
            ok(apply(box, docker));
            expect(JSON.parse(box.read("/etc/docker/daemon.json"))["insecure-registries"]).toEqual([SWR, LOCAL_REG]);
            ok(restore(box, docker));

            // A hand drop-in that points elsewhere, under our file name or another: refused, named.
            for (const file of [DROPIN, "/etc/systemd/system/containerd.service.d/10-corp-proxy.conf"]) {
                box.sh(`rm -f ${DROPIN}`);
                box.write(file, `[Service]\nEnvironment=HTTPS_PROXY=http://ops:pw@corp-proxy.example.com:3128\n`);
                const other = state(box);
                const refused = apply(box, spec());
                expect(refused.code).toBe(1);
                expect(refused.stderr).toContain(
                    `${file} sets HTTPS_PROXY=http://corp-proxy.example.com:3128, another proxy than Dragonfly's`,
                );
                expect(refused.stderr).not.toContain("ops:pw");
                expect(state(box)).toEqual(other);
                box.sh(`rm -f ${file}`);
            }
        });

        test("mirror mode on a hand-configured node moves registry.mirrors and configs.tls into hosts.toml in one change; restore gives back the bytes", async () => {
            const R = `plugins."${CRI}".registry`;
            const seeded =
                `${BASE}    [${R}]\n` +
                `      [${R}.mirrors]\n        [${R}.mirrors."docker.io"]\n          endpoint = ["https://mirror.example.com", "https://registry-1.docker.io"]\n` +
                `      [${R}.configs]\n` +
                `        [${R}.configs."${SWR}".tls]\n          insecure_skip_verify = true\n` +
                `        [${R}.configs."mirror.example.com".tls]\n          ca_file = "/etc/pki/mirror-ca.pem"\n          cert_file = "/etc/pki/node.pem"\n          key_file = "/etc/pki/node.key"\n` +
                `        [${R}.configs."other.example.com".auth]\n          username = "puller"\n`;
            const box = await nodeWith(boxes, seeded);
            expect(criStatus(box)).toBe("ok");
            const before = state(box);
            const s = spec({ mode: "mirror", registries: [SWR] });
            const r = apply(box, s);
            expect(ok(r)).toMatch(/restarted=yes\n$/);
            expect(r.stderr).toBe("");
            expect(criStatus(box)).toBe("ok");
            const registry = dump(box).plugins[CRI].registry;
            expect(registry.config_path).toBe("/etc/containerd/certs.d");
            expect(registry.mirrors ?? {}).toEqual({});
            expect(registry.configs["other.example.com"].auth.username).toBe("puller");
            expect(registry.configs[SWR]?.tls).toBeUndefined();
            const hosts = (h: string) =>
                parse(box.read(`/etc/containerd/certs.d/${h}/hosts.toml`)) as Record<string, any>;
            // The routed registry: Dragonfly first, the server keeps its TLS setting.
            expect(hosts(SWR).server).toBe(`https://${SWR}`);
            expect(hosts(SWR).skip_verify).toBe(true);
            expect(hosts(SWR).host[ENDPOINT].header["X-Dragonfly-Registry"]).toBe(`https://${SWR}`);
            // docker.io's mirror, with the mirror's own TLS settings; the server is not repeated.
            expect(hosts("docker.io")).toEqual({
                server: "https://registry-1.docker.io",
                host: {
                    "https://mirror.example.com": {
                        capabilities: ["pull", "resolve"],
                        ca: "/etc/pki/mirror-ca.pem",
                        client: [["/etc/pki/node.pem", "/etc/pki/node.key"]],
                    },
                },
            });
            expect(hosts("mirror.example.com")).toEqual({
                server: "https://mirror.example.com",
                ca: "/etc/pki/mirror-ca.pem",
                client: [["/etc/pki/node.pem", "/etc/pki/node.key"]],
            });
            expect(ok(apply(box, s))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, s));
            expect(state(box)).toEqual(before);

            // What cannot be moved safely is refused, naming the table; nothing changes.
            box.write(
                CONFIG,
                `${seeded}      [${R}.mirrors."quay.io"]\n        endpoint = [\n          "https://quay-mirror.example.com",\n        ]\n`,
            );
            const other = state(box);
            const refused = apply(box, s);
            expect(refused.code).toBe(1);
            expect(refused.stderr).toContain(
                `sets ${R}.mirrors."quay.io": its endpoint list is not a one-line list of strings`,
            );
            expect(refused.stderr).toContain("The file was not changed.");
            expect(state(box)).toEqual(other);
        });

        test("a noProxy entry with % (fe80::1%eth0) reaches containerd's NO_PROXY; systemd-analyze accepts the drop-in", async () => {
            const box = await nodeWith(boxes, BASE);
            const s = spec({ noProxy: ["localhost", "fe80::1%eth0", ".svc"] });
            ok(apply(box, s));
            expect(box.containerdEnv().NO_PROXY).toBe("localhost,fe80::1%eth0,.svc");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dfcce-unit-"));
            try {
                const unit = path.join(dir, "dfcce-dropin-check.service");
                const dropin = box.read(DROPIN).replace("[Service]\n", "");
                fs.writeFileSync(unit, `[Unit]\nDescription=check\n[Service]\nExecStart=/bin/true\n${dropin}`);
                const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
                expect(r.stdout + r.stderr).not.toMatch(/specifier|ignoring/i);
                // The same check sees the defect: an unescaped % is reported.
                fs.writeFileSync(unit, `[Service]\nExecStart=/bin/true\nEnvironment="NO_PROXY=fe80::1%eth0"\n`);
                const bad = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
                expect(bad.stdout + bad.stderr).toMatch(/Failed to resolve specifiers/);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            ok(restore(box, s));
        });

        test("an imported file that defines the CRI plugin's table (it would replace ours): refused in both modes, naming the file; nothing changed", async () => {
            const importer = "/etc/containerd/conf.d/20-cri.toml";
            const base = `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n\n[plugins]\n  [plugins."${CRI}"]\n    sandbox_image = "cce-pause:3.1"\n`;
            const box = await nodeWith(boxes, base);
            box.write(importer, `version = 2\n[plugins."${CRI}"]\n  sandbox_image = "from-import:1"\n`);
            restartContainerd(box);
            // What containerd does with it: the imported table replaces config.toml's whole.
            expect(dump(box).plugins[CRI].sandbox_image).toBe("from-import:1");
            const before = state(box);
            const restarts = box.restarts();
            for (const [mode, missing] of [
                ["proxy", `configs."${SWR}".tls, configs."${LOCAL_REG}".tls`],
                ["mirror", 'config_path = "/etc/containerd/certs.d"'],
            ] as const) {
                const r = apply(box, spec({ mode }));
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(
                    `${CONFIG} imports other files, and containerd's effective configuration (containerd config dump) lacks the registry settings: ${missing}.`,
                );
                expect(r.stderr).toContain(`Imported files that define it: ${importer}.`);
                expect(r.stderr).toContain("Nothing was changed.");
                expect(state(box)).toEqual(before);
                expect(box.restarts()).toBe(restarts);
            }

            // With the CRI settings moved into config.toml, the same imports are fine.
            box.write(importer, `version = 2\n[plugins."io.containerd.internal.v1.opt"]\n  path = "/opt/imported"\n`);
            ok(apply(box, spec()));
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            ok(restore(box, spec()));
        });

        test("a CRLF config.toml is edited (CRLF kept), loaded by containerd and restored byte for byte", async () => {
            const crlf = BASE.replace(/\n/g, "\r\n");
            const box = await nodeWith(boxes, crlf);
            expect(criStatus(box)).toBe("ok");
            const before = state(box);
            const r = apply(box, spec());
            ok(r);
            expect(r.stderr).toBe("");
            expect(box.read(CONFIG).startsWith(crlf)).toBe(true);
            expect(box.read(CONFIG).replace(/\r\n/g, "")).not.toContain("\n");
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(criStatus(box)).toBe("ok");
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });
    },
);
