/**
 * The node scripts, run for real as root in a private mount namespace (see sandbox.ts), against
 * Debian's containerd 1.6 started by the systemctl stand-in.
 */
import { spawnSync } from "child_process";
import { parse } from "smol-toml";
import { describePrivileged } from "../helpers/privileged";
import { tomlProgram } from "../../lib/node/awk";
import { NodeSandbox } from "./sandbox";
import { testCertificates } from "../helpers/testCa";
import {
    apply,
    CONFIG,
    CRI,
    criStatus,
    DROPIN,
    dump,
    LOCAL_REG,
    nodeWith,
    ok,
    restore,
    spec,
    state,
    SWR,
} from "./nodeHelpers";

const CRI_REGISTRY = `plugins."${CRI}".registry`;
/** The TLS writer's settings: skip verification, or trust the proxy's CA (apply.sh passes these). */
const PROXY_CA_FILE = "/etc/containerd/dragonfly-proxy-ca.crt";
const TLS_SKIP = ["-v", "tls_key=insecure_skip_verify", "-v", "tls_value=true"];
const TLS_CA = ["-v", "tls_key=ca_file", "-v", `tls_value="${PROXY_CA_FILE}"`, "-v", "tls_off=insecure_skip_verify"];

/** A CCE-like containerd 1.6 config.toml (version 2), abridged from `containerd config default`. */
const CCE_CONFIG = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999

[grpc]
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "cce-pause:3.1"
    max_container_log_line_size = 16384
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
`;

/** A config that already has registry settings (mirrors, another registry's auth and TLS). */
const REGISTRY_CONFIG = `${CCE_CONFIG}    [plugins."io.containerd.grpc.v1.cri".registry]
      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
        [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
          endpoint = ["https://mirror.example.com"]
      [plugins."io.containerd.grpc.v1.cri".registry.configs]
        [plugins."io.containerd.grpc.v1.cri".registry.configs."other.example.com".auth]
          username = "puller"
        [plugins."io.containerd.grpc.v1.cri".registry.configs."${SWR}".tls]
          insecure_skip_verify = false # keep this comment's line replaced, not duplicated
`;

const CONFLICT_CONFIG = `${CCE_CONFIG}    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
      [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
        endpoint = ["https://mirror.example.com"]
`;

/** Another registry's auth under its own table, and no [...registry] header: mirror mode appends one. */
const DOTTED_AUTH_CONFIG = `${CCE_CONFIG}    [plugins."io.containerd.grpc.v1.cri".registry.configs."other.example.com".auth]
      username = "puller"
`;

/** The registry table defined through dotted keys: config_path joins them as a dotted key. */
const DOTTED_REGISTRY_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "cce-pause:3.1"
  registry.mirrors."docker.io".endpoint = ["https://mirror.example.com"]
`;

const V3_CONFIG = `version = 3
root = "/var/lib/containerd"

[plugins]
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "cce-pause:3.10"
  [plugins."io.containerd.cri.v1.runtime"]
    enable_selinux = false
`;

function awk(
    use: "inspect" | "tls" | "config_path",
    vars: string[],
    input: string,
    bin = "awk",
): { status: number | null; out: string } {
    const r = spawnSync(bin, [...vars, tomlProgram(use)], { input, encoding: "utf8" });
    return { status: r.status, out: r.stdout };
}

describePrivileged(
    "node scripts against real containerd (root, unshare -m)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk", "openssl"] },
    () => {
        const boxes: NodeSandbox[] = [];
        const sandbox = (config?: string): Promise<NodeSandbox> => nodeWith(boxes, config);
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
        });

        test("proxy mode on a CCE-like config: drop-in, TLS for the routed registries only, idempotent, byte-for-byte restore", async () => {
            const box = await sandbox(CCE_CONFIG);
            const before = state(box);
            const restartsBefore = box.restarts();

            const out = ok(apply(box, spec()));
            expect(out).toBe(`dragonfly-cce: changed=${CONFIG},${DROPIN}, restarted=yes\n`);
            expect(box.read(DROPIN)).toContain('Environment="HTTP_PROXY=http://192.168.0.177:4001"\n');
            expect(box.read(DROPIN)).toContain('Environment="HTTPS_PROXY=http://192.168.0.177:4001"\n');
            expect(box.read(DROPIN)).toContain(
                'Environment="NO_PROXY=localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc,10.247.0.0/16"\n',
            );
            // Every original line is still there, in order, followed by our tables.
            expect(box.read(CONFIG).startsWith(CCE_CONFIG)).toBe(true);
            expect(box.calls().slice(-2)).toEqual(["systemctl daemon-reload", "systemctl restart containerd"]);
            expect(box.restarts()).toBe(restartsBefore + 1);

            // The restarted containerd runs with the drop-in's environment and a healthy CRI plugin.
            expect(box.containerdEnv().HTTPS_PROXY).toBe("http://192.168.0.177:4001");
            expect(box.containerdEnv().NO_PROXY).toContain("10.247.0.0/16");
            expect(criStatus(box)).toBe("ok");
            const cri = dump(box).plugins[CRI];
            expect(cri.registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(cri.registry.configs[LOCAL_REG].tls.insecure_skip_verify).toBe(true);
            expect(Object.keys(cri.registry.configs).sort()).toEqual([LOCAL_REG, SWR].sort());
            expect(cri.sandbox_image).toBe("cce-pause:3.1");
            expect(cri.containerd.runtimes.runc.options.SystemdCgroup).toBe(true);

            // Second run: nothing written, nothing restarted.
            const configured = state(box);
            const calls = box.calls().length;
            expect(ok(apply(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            expect(state(box)).toEqual(configured);
            expect(box.calls().length).toBe(calls);

            // Restore: the original files byte for byte (and modes), our state gone, runtime restarted.
            expect(ok(restore(box, spec()))).toBe(`dragonfly-cce: changed=${CONFIG},${DROPIN}, restarted=yes\n`);
            expect(state(box)).toEqual(before);
            expect(box.containerdEnv().HTTPS_PROXY).toBeUndefined();
            expect(criStatus(box)).toBe("ok");
            // Restoring twice is harmless.
            expect(ok(restore(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
        });

        test("no config.toml: creates a version 2 file that containerd loads; restore removes everything", async () => {
            const box = await sandbox();
            const before = state(box);
            ok(apply(box, spec({ registries: [SWR] })));
            expect(box.read(CONFIG)).toBe(
                `version = 2\n\n[plugins."${CRI}".registry.configs."${SWR}".tls]\n  insecure_skip_verify = true\n`,
            );
            expect(criStatus(box)).toBe("ok");
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            ok(restore(box, spec({ registries: [SWR] })));
            expect(state(box)).toEqual(before);
            expect(box.exists("/etc/systemd/system/containerd.service.d")).toBe(false);
        });

        test("existing registry settings are kept; a false insecure_skip_verify is switched, not duplicated; fewer registries drop our edits", async () => {
            const box = await sandbox(REGISTRY_CONFIG);
            const before = state(box);
            ok(apply(box, spec()));
            const text = box.read(CONFIG);
            expect(text.match(/insecure_skip_verify/g)).toHaveLength(2);
            expect(text).toContain(
                `[plugins."${CRI}".registry.configs."${SWR}".tls]\n          insecure_skip_verify = true\n`,
            );
            const cri = dump(box).plugins[CRI];
            expect(cri.registry.mirrors["docker.io"].endpoint).toEqual(["https://mirror.example.com"]);
            expect(cri.registry.configs["other.example.com"].auth.username).toBe("puller");
            expect(cri.registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(cri.registry.configs[LOCAL_REG].tls.insecure_skip_verify).toBe(true);
            expect(criStatus(box)).toBe("ok");

            // One registry fewer: its table goes, derived from the original file.
            ok(apply(box, spec({ registries: [SWR] })));
            expect(dump(box).plugins[CRI].registry.configs[LOCAL_REG]).toBeUndefined();
            expect(box.read(CONFIG)).toBe(
                REGISTRY_CONFIG.replace(
                    "insecure_skip_verify = false # keep this comment's line replaced, not duplicated",
                    "insecure_skip_verify = true",
                ),
            );

            // Mirror mode moves registry.mirrors and configs.*.tls into hosts.toml (from the
            // original file: the server keeps its insecure_skip_verify = false).
            ok(apply(box, spec({ mode: "mirror" })));
            const mirrored = dump(box).plugins[CRI].registry;
            expect(mirrored.config_path).toBe("/etc/containerd/certs.d");
            expect(mirrored.mirrors ?? {}).toEqual({});
            expect(mirrored.configs["other.example.com"].auth.username).toBe("puller");
            expect(mirrored.configs[SWR]?.tls).toBeUndefined();
            expect(criStatus(box)).toBe("ok");
            const swrHosts = parse(box.read(`/etc/containerd/certs.d/${SWR}/hosts.toml`)) as Record<string, any>;
            expect(swrHosts.skip_verify).toBe(false);
            const dockerHosts = parse(box.read("/etc/containerd/certs.d/docker.io/hosts.toml")) as Record<string, any>;
            expect(Object.keys(dockerHosts.host)).toEqual(["https://mirror.example.com"]);

            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });

        test("a config that already conflicts (config_path + registry.mirrors) is refused untouched in both modes", async () => {
            const box = await sandbox(CONFLICT_CONFIG);
            // What containerd 1.6 does with it: it runs, without its CRI plugin.
            expect(criStatus(box)).toBe("error");
            const before = state(box);
            const calls = box.calls().length;
            for (const mode of ["proxy", "mirror"] as const) {
                const r = apply(box, spec({ mode }));
                expect(r.code).toBe(1);
                expect(r.stdout).toBe("");
                expect(r.stderr).toContain("already conflicts");
                expect(r.stderr).toContain(
                    `${CRI_REGISTRY} sets config_path together with ${CRI_REGISTRY}.mirrors."docker.io"`,
                );
                expect(r.stderr).toContain("The file was not changed.");
            }
            expect(state(box)).toEqual(before);
            expect(box.calls().length).toBe(calls);
        });

        test("mirror mode: config_path + hosts.toml loaded by containerd; registry changes rewrite hosts.toml only, without restart", async () => {
            const box = await sandbox(CCE_CONFIG);
            const before = state(box);
            const s = spec({ mode: "mirror", allRegistries: true });
            ok(apply(box, s));
            expect(box.read(CONFIG)).toBe(
                `${CCE_CONFIG}\n[plugins."${CRI}".registry]\n  config_path = "/etc/containerd/certs.d"\n`,
            );
            expect(box.exists(DROPIN)).toBe(false);
            const hosts = parse(box.read(`/etc/containerd/certs.d/${SWR}/hosts.toml`)) as Record<string, any>;
            expect(hosts.server).toBe(`https://${SWR}`);
            expect(hosts.host["http://192.168.0.177:4001"].capabilities).toEqual(["pull", "resolve"]);
            expect(hosts.host["http://192.168.0.177:4001"].header["X-Dragonfly-Registry"]).toBe(`https://${SWR}`);
            const local = parse(box.read(`/etc/containerd/certs.d/${LOCAL_REG}/hosts.toml`)) as Record<string, any>;
            expect(local.server).toBe(`https://${LOCAL_REG}`);
            const catchAll = parse(box.read("/etc/containerd/certs.d/_default/hosts.toml")) as Record<string, any>;
            expect(catchAll.host["http://192.168.0.177:4001"].capabilities).toEqual(["pull", "resolve"]);
            expect(criStatus(box)).toBe("ok");
            expect(dump(box).plugins[CRI].registry.config_path).toBe("/etc/containerd/certs.d");

            // Registry list changes: hosts.toml files only, no restart.
            const restarts = box.restarts();
            const out = ok(apply(box, { ...s, registries: [SWR], allRegistries: false }));
            expect(out).toBe(
                `dragonfly-cce: changed=/etc/containerd/certs.d/_default/hosts.toml,/etc/containerd/certs.d/${LOCAL_REG}/hosts.toml, restarted=no\n`,
            );
            expect(box.exists(`/etc/containerd/certs.d/${LOCAL_REG}/hosts.toml`)).toBe(false);
            expect(box.exists(`/etc/containerd/certs.d/${SWR}/hosts.toml`)).toBe(true);
            expect(box.restarts()).toBe(restarts);

            ok(restore(box, s));
            expect(state(box)).toEqual(before);
        });

        test("a runtime that does not come back healthy is rolled back and the command fails with containerd's own error", async () => {
            const box = await sandbox(CCE_CONFIG);
            const before = state(box);
            // containerd starts but its CRI plugin fails (systemctl is-active would say active).
            const r = apply(box, spec(), { env: { STANDIN_BREAK: "cri" } });
            expect(r.code).toBe(1);
            expect(r.stdout).toBe("");
            expect(r.stderr).toContain("the previous files were put back");
            expect(r.stderr).toContain("`mirrors` cannot be set when `config_path` is provided");
            expect(state(box)).toEqual({ ...before, ...box.snapshot("/var/lib/dragonfly-cce") });
            expect(box.read(CONFIG)).toBe(CCE_CONFIG);
            expect(box.exists(DROPIN)).toBe(false);
            expect(criStatus(box)).toBe("ok");
            expect(box.containerdEnv().HTTP_PROXY).toBeUndefined();

            // containerd does not start at all: the error comes from its journal.
            const r2 = apply(box, spec(), { env: { STANDIN_BREAK: "start" } });
            expect(r2.code).toBe(1);
            expect(r2.stderr).toMatch(/toml/i);
            expect(box.read(CONFIG)).toBe(CCE_CONFIG);
            expect(criStatus(box)).toBe("ok");
            // The first attempt's backups do not break a later good run and restore.
            ok(apply(box, spec()));
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });

        test("version 3 files: TLS and config_path go under io.containerd.cri.v1.images, every other setting kept", () => {
            const tls = awk("tls", [...TLS_SKIP, "-v", `hosts=${SWR} ${LOCAL_REG}`], V3_CONFIG);
            expect(tls.status).toBe(0);
            expect(tls.out.startsWith(V3_CONFIG)).toBe(true);
            const t = parse(tls.out) as Record<string, any>;
            expect(t.plugins["io.containerd.cri.v1.images"].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(t.plugins["io.containerd.cri.v1.images"].registry.configs[LOCAL_REG].tls.insecure_skip_verify).toBe(
                true,
            );
            expect(t.plugins["io.containerd.cri.v1.images"].pinned_images.sandbox).toBe("cce-pause:3.10");
            expect(t.plugins["io.containerd.grpc.v1.cri"]).toBeUndefined();

            const mirror = awk("config_path", ["-v", "dir=/etc/containerd/certs.d"], V3_CONFIG);
            expect(mirror.status).toBe(0);
            const m = parse(mirror.out) as Record<string, any>;
            expect(m.plugins["io.containerd.cri.v1.images"].registry.config_path).toBe("/etc/containerd/certs.d");
            expect(m.plugins["io.containerd.cri.v1.runtime"].enable_selinux).toBe(false);
            expect(m.version).toBe(3);

            const facts = awk(
                "inspect",
                [],
                `${V3_CONFIG}  [plugins."io.containerd.cri.v1.images".registry]\n    config_path = "/etc/containerd/certs.d"\n`,
            );
            expect(facts.out).toContain("version=3\n");
            expect(facts.out).toContain("config_path=/etc/containerd/certs.d\n");
        });

        test("another registry's auth table without a [...registry] header: mirror mode is accepted and containerd loads it", async () => {
            const box = await sandbox(DOTTED_AUTH_CONFIG);
            const before = state(box);
            ok(apply(box, spec({ mode: "mirror", registries: [SWR] })));
            expect(box.read(CONFIG)).toBe(
                `${DOTTED_AUTH_CONFIG}\n[plugins."${CRI}".registry]\n  config_path = "/etc/containerd/certs.d"\n`,
            );
            expect(criStatus(box)).toBe("ok");
            const cri = dump(box).plugins[CRI];
            expect(cri.registry.config_path).toBe("/etc/containerd/certs.d");
            expect(cri.registry.configs["other.example.com"].auth.username).toBe("puller");
            ok(restore(box, spec({ mode: "mirror", registries: [SWR] })));
            expect(state(box)).toEqual(before);
        });

        test("version 3 file with config_path, mirror mode: hosts.toml written, config.toml untouched, no restart", async () => {
            const v3 = `${V3_CONFIG}    [plugins."io.containerd.cri.v1.images".registry]\n      config_path = "/etc/containerd/certs.d"\n`;
            const box = await sandbox(CCE_CONFIG);
            box.write(CONFIG, v3); // containerd 1.6 cannot load v3: it keeps running with the old one
            const restarts = box.restarts();
            const out = ok(apply(box, spec({ mode: "mirror", registries: [SWR] })));
            expect(out).toBe(`dragonfly-cce: changed=/etc/containerd/certs.d/${SWR}/hosts.toml, restarted=no\n`);
            expect(box.read(CONFIG)).toBe(v3);
            expect(box.restarts()).toBe(restarts);
        });

        test("Docker: credentials in a root-only environment file (never printed) and insecure-registries merged into daemon.json", async () => {
            const box = await sandbox(CCE_CONFIG);
            const daemon = `{\n  "log-driver": "json-file",\n  "log-opts": {"max-size": "50m"},\n  "insecure-registries": ["old.example.com:5000"]\n}\n`;
            box.write("/etc/docker/daemon.json", daemon);
            const before = state(box);
            const s = spec({ runtime: "docker", proxyAuth: true });
            const password = "p@ss:w%rd/1";
            const r = apply(box, s, { input: `dfuser:${password}\n` });
            const dropin = "/etc/systemd/system/docker.service.d/http-proxy.conf";
            const envFile = "/etc/systemd/system/docker.service.d/http-proxy.env";
            expect(ok(r)).toBe(`dragonfly-cce: changed=/etc/docker/daemon.json,${envFile},${dropin}, restarted=yes\n`);
            expect(r.stdout + r.stderr).not.toContain(password);
            expect(box.read(envFile)).toContain("HTTPS_PROXY=http://dfuser:p%40ss%3Aw%25rd%2F1@192.168.0.177:4001\n");
            expect(box.read(dropin)).toContain(`EnvironmentFile=${envFile}\n`);
            expect(box.read(dropin)).not.toContain("dfuser");
            expect(before[dropin]).toBeUndefined();
            expect(state(box)[envFile].split(" ")[0]).toBe("600");
            expect(state(box)[dropin].split(" ")[0]).toBe("644");
            const merged = JSON.parse(box.read("/etc/docker/daemon.json"));
            expect(merged).toEqual({
                "log-driver": "json-file",
                "log-opts": { "max-size": "50m" },
                "insecure-registries": ["old.example.com:5000", SWR, LOCAL_REG],
            });
            expect(box.calls()).toContain("systemctl restart docker");
            const again = apply(box, s, { input: `dfuser:${password}\n` });
            expect(ok(again)).toBe("dragonfly-cce: changed=-, restarted=no\n");
            // Missing credentials: refused before anything is touched.
            const none = apply(box, s, { input: "" });
            expect(none.code).toBe(1);
            expect(none.stderr).toContain("user:password on stdin");
            ok(restore(box, s));
            expect(state(box)).toEqual(before);
        });

        test("containerd with proxy credentials: they reach containerd through a root-only EnvironmentFile, never an Environment= line; auth off removes the file", async () => {
            const box = await sandbox(CCE_CONFIG);
            const before = state(box);
            const envFile = "/etc/systemd/system/containerd.service.d/http-proxy.env";
            const s = spec({ proxyAuth: true });
            const first = apply(box, s, { input: "dfuser:s3cr%t pw\n" });
            expect(ok(first)).toBe(`dragonfly-cce: changed=${CONFIG},${envFile},${DROPIN}, restarted=yes\n`);
            expect(first.stdout + first.stderr).not.toContain("s3cr");
            expect(box.containerdEnv().HTTPS_PROXY).toBe("http://dfuser:s3cr%25t%20pw@192.168.0.177:4001");
            expect(box.containerdEnv().HTTP_PROXY).toBe("http://dfuser:s3cr%25t%20pw@192.168.0.177:4001");
            expect(box.containerdEnv().NO_PROXY).toContain("10.247.0.0/16");
            // What `systemctl show` would print comes from the drop-in: no credential there.
            expect(box.read(DROPIN)).not.toMatch(/dfuser|s3cr/);
            expect(box.read(DROPIN)).toContain(`EnvironmentFile=${envFile}\n`);
            expect(state(box)[DROPIN].split(" ")[0]).toBe("644");
            expect(state(box)[envFile].split(" ")[0]).toBe("600");
            expect(ok(apply(box, s, { input: "dfuser:s3cr%t pw\n" }))).toBe("dragonfly-cce: changed=-, restarted=no\n");

            // New credentials: only the environment file changes, and containerd restarts with them.
            expect(ok(apply(box, s, { input: "dfuser:other\n" }))).toBe(
                `dragonfly-cce: changed=${envFile}, restarted=yes\n`,
            );
            expect(box.containerdEnv().HTTPS_PROXY).toBe("http://dfuser:other@192.168.0.177:4001");

            // Auth off: the file goes, the drop-in carries the plain proxy URL.
            const plain = ok(apply(box, spec()));
            expect(plain).toBe(`dragonfly-cce: changed=${DROPIN},${envFile}, restarted=yes\n`);
            expect(box.exists(envFile)).toBe(false);
            expect(box.containerdEnv().HTTPS_PROXY).toBe("http://192.168.0.177:4001");
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });

        test("proxy.ca: containerd trusts the proxy's CA for the routed registries instead of skipping verification; a new CA needs no restart; off again, the file goes", async () => {
            const { ca, otherCa } = testCertificates();
            const seeded = `${CCE_CONFIG}    [${CRI_REGISTRY}.configs."${SWR}".tls]\n      insecure_skip_verify = true\n`;
            const box = await sandbox(seeded);
            const before = state(box);
            const s = spec({ proxyCa: ca.certificate });
            expect(ok(apply(box, s))).toBe(
                `dragonfly-cce: changed=${PROXY_CA_FILE},${CONFIG},${DROPIN}, restarted=yes\n`,
            );
            expect(box.read(PROXY_CA_FILE)).toBe(ca.certificate);
            expect(state(box)[PROXY_CA_FILE].split(" ")[0]).toBe("644");
            const tls = dump(box).plugins[CRI].registry.configs;
            for (const host of [SWR, LOCAL_REG]) {
                expect(tls[host].tls.ca_file).toBe(PROXY_CA_FILE);
                // The seed document's hand-set insecure_skip_verify is switched off, not left to win.
                expect(tls[host].tls.insecure_skip_verify).toBe(false);
            }
            expect(criStatus(box)).toBe("ok");
            expect(ok(apply(box, s))).toBe("dragonfly-cce: changed=-, restarted=no\n");

            // A new CA: only the file changes; containerd reads it at each pull.
            const restarts = box.restarts();
            expect(ok(apply(box, spec({ proxyCa: otherCa.certificate })))).toBe(
                `dragonfly-cce: changed=${PROXY_CA_FILE}, restarted=no\n`,
            );
            expect(box.read(PROXY_CA_FILE)).toBe(otherCa.certificate);
            expect(box.restarts()).toBe(restarts);

            // proxy.ca off: verification skipped again, the CA file removed.
            expect(ok(apply(box, spec()))).toBe(`dragonfly-cce: changed=${CONFIG},${PROXY_CA_FILE}, restarted=yes\n`);
            expect(box.exists(PROXY_CA_FILE)).toBe(false);
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.ca_file).toBe("");
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });

        test("proxy.ca with config_path: the hosts.toml files name the CA (ca), no skip_verify", async () => {
            const { ca } = testCertificates();
            const withPath = `${CCE_CONFIG}    [${CRI_REGISTRY}]\n      config_path = "/etc/containerd/certs.d"\n`;
            const box = await sandbox(withPath);
            const before = state(box);
            const s = spec({ proxyCa: ca.certificate });
            ok(apply(box, s));
            const hosts = parse(box.read(`/etc/containerd/certs.d/${SWR}/hosts.toml`)) as Record<string, any>;
            expect(hosts.host[`https://${SWR}`]).toEqual({ capabilities: ["pull", "resolve"], ca: PROXY_CA_FILE });
            expect(box.read(PROXY_CA_FILE)).toBe(ca.certificate);
            expect(criStatus(box)).toBe("ok");
            ok(restore(box, s));
            expect(state(box)).toEqual(before);
        });

        test("Docker: daemon.json without the key, or absent, gets it; broken JSON is refused", async () => {
            const box = await sandbox(CCE_CONFIG);
            const s = spec({ runtime: "docker", registries: [SWR] });
            box.write("/etc/docker/daemon.json", `{"data-root":"/mnt/docker"}`);
            ok(apply(box, s));
            expect(JSON.parse(box.read("/etc/docker/daemon.json"))).toEqual({
                "insecure-registries": [SWR],
                "data-root": "/mnt/docker",
            });
            ok(restore(box, s));
            expect(box.read("/etc/docker/daemon.json")).toBe(`{"data-root":"/mnt/docker"}`);
            box.write("/etc/docker/daemon.json", `{"data-root": "/mnt/docker",`);
            const r = apply(box, s);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain("daemon.json");
            expect(box.read("/etc/docker/daemon.json")).toBe(`{"data-root": "/mnt/docker",`);
            box.sh("rm /etc/docker/daemon.json");
            ok(apply(box, s));
            expect(JSON.parse(box.read("/etc/docker/daemon.json"))).toEqual({ "insecure-registries": [SWR] });
            ok(restore(box, s));
            expect(box.exists("/etc/docker/daemon.json")).toBe(false);
        });
    },
);

/** Every fixture through every config.toml edit, with each awk at hand; the output read by a TOML parser. */
describe("config.toml awk programs on every fixture (smol-toml reads every output)", () => {
    const awks = ["mawk", "gawk"].filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0);
    const fixtures: Array<[string, string]> = [
        ["empty", ""],
        ["CCE-like", CCE_CONFIG],
        ["registry settings", REGISTRY_CONFIG],
        ["conflicting", CONFLICT_CONFIG],
        ["auth table without a registry header", DOTTED_AUTH_CONFIG],
        ["registry as dotted keys", DOTTED_REGISTRY_CONFIG],
        ["version 3", V3_CONFIG],
    ];
    const cases = awks.flatMap((bin) =>
        fixtures.flatMap(([name, text]) => [
            [bin, "tls", name, text] as const,
            [bin, "tls with the proxy CA", name, text] as const,
            [bin, "config_path", name, text] as const,
        ]),
    );

    test("an awk is installed", () => {
        expect(awks.length).toBeGreaterThan(0);
    });

    test.each(cases)("%s %s: %s", (bin, use, _name, text) => {
        const hosts = ["-v", `hosts=${SWR} ${LOCAL_REG}`];
        const vars =
            use === "tls"
                ? [...TLS_SKIP, ...hosts]
                : use === "config_path"
                  ? ["-v", "dir=/etc/containerd/certs.d"]
                  : [...TLS_CA, ...hosts];
        const r = awk(use === "config_path" ? use : "tls", vars, text, bin);
        expect(r.status).toBe(0);
        const doc = parse(r.out) as Record<string, any>;
        const plugin = doc.version === 3 ? "io.containerd.cri.v1.images" : CRI;
        const registry = doc.plugins[plugin].registry;
        if (use === "tls") {
            expect(registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            expect(registry.configs[LOCAL_REG].tls.insecure_skip_verify).toBe(true);
        } else if (use === "tls with the proxy CA") {
            for (const host of [SWR, LOCAL_REG]) {
                expect(registry.configs[host].tls.ca_file).toBe(PROXY_CA_FILE);
                expect(registry.configs[host].tls.insecure_skip_verify ?? false).toBe(false);
            }
        } else {
            expect(registry.config_path).toBe("/etc/containerd/certs.d");
        }
        // Every line of the input is still there, in order (edits replace or add lines only).
        const out = r.out.split("\n");
        let at = 0;
        const switched = use === "tls" ? /insecure_skip_verify = false/ : /insecure_skip_verify = true/;
        for (const l of text.split("\n").filter((x) => !switched.test(x))) {
            at = out.indexOf(l, at);
            expect(at).toBeGreaterThanOrEqual(0);
        }
    });
});
