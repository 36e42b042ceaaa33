/**
 * Issue 18, items 4, 7 and 10, and the review of the same class (a rollback or a second mode
 * that leaves a file or a unit in force without saying so), against Debian's real containerd 1.6
 * in a private mount namespace (see sandbox.ts). Each test failed before its fix.
 */
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
const PENDING = "/var/lib/dragonfly-cce/restart-pending";
const BACKUP_CONFIG = `/var/lib/dragonfly-cce/backup/files${CONFIG}`;
/** A drop-in of the operator's that sets no proxy (the stand-in breaks starts while one exists). */
const LIMITS = "/etc/systemd/system/containerd.service.d/10-limits.conf";
/** The seed document's hand-made drop-in. */
const SEED_DROPIN = `[Service]\nEnvironment="HTTP_PROXY=${ENDPOINT}"\nEnvironment="HTTPS_PROXY=${ENDPOINT}"\nEnvironment="NO_PROXY=localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc"\n`;

/** Where the symlink at ABS points (empty when ABS is not a symlink). */
function link(box: NodeSandbox, abs: string): string {
    return box.sh(`readlink ${abs} || true`).stdout.trim();
}

describePrivileged(
    "rollbacks and second modes leave nothing in force unsaid (root, unshare -m)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk"] },
    () => {
        const boxes: NodeSandbox[] = [];
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
        });

        test("a restore whose original files no longer load: the Dragonfly files go back, containerd runs with them, and the error says so", async () => {
            const box = await nodeWith(boxes, BASE);
            const before = state(box);
            ok(apply(box, spec()));
            const ours = box.read(CONFIG);
            // As after a containerd upgrade that no longer reads the original file.
            box.write(BACKUP_CONFIG, `${BASE}this is not toml\n`);
            const r = restore(box, spec());
            expect(r.code).toBe(1);
            expect(r.stdout).toBe("");
            expect(r.stderr).not.toContain("restored the original files");
            expect(r.stderr).toContain(
                "containerd was not healthy with the original files, so the Dragonfly files were put back and containerd restarted with them (healthy)",
            );
            expect(r.stderr).toMatch(/toml/i);
            expect(criStatus(box)).toBe("ok");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            expect(box.read(CONFIG)).toBe(ours);
            expect(box.exists(PENDING)).toBe(false);
            // The originals are still kept: once they load again, restore finishes.
            box.write(BACKUP_CONFIG, BASE);
            expect(ok(restore(box, spec()))).toMatch(/restarted=yes\n$/);
            expect(state(box)).toEqual(before);
            expect(criStatus(box)).toBe("ok");
        });

        test("a restore after which containerd does not start at all: says what is on disk and running, keeps the marker, the next apply restarts", async () => {
            const box = await nodeWith(boxes, BASE);
            box.write(LIMITS, "[Service]\nLimitNOFILE=1048576\n");
            restartContainerd(box);
            const before = state(box);
            ok(apply(box, spec()));
            const r = restore(box, spec(), { env: { STANDIN_BREAK: "start" } });
            expect(r.code).toBe(1);
            expect(r.stderr).not.toContain("restored the original files");
            expect(r.stderr).toContain(
                "containerd was not healthy with the original files; the Dragonfly files were put back, but containerd is still not healthy",
            );
            expect(r.stderr).toContain("The next run restarts it.");
            expect(box.read(DROPIN)).toContain(`HTTPS_PROXY=${ENDPOINT}`);
            expect(box.exists(PENDING)).toBe(true);
            // The next run does not report a down runtime as fine: it restarts it.
            expect(ok(apply(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=yes\n");
            expect(criStatus(box)).toBe("ok");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
        });

        test("a first apply after which containerd does not start at all keeps the marker: restore then restarts it", async () => {
            const box = await nodeWith(boxes, BASE);
            box.write(LIMITS, "[Service]\nLimitNOFILE=1048576\n");
            restartContainerd(box);
            const r = apply(box, spec(), { env: { STANDIN_BREAK: "start" } });
            expect(r.code).toBe(1);
            expect(r.stderr).toContain("the previous files were put back but containerd is still not healthy");
            expect(box.read(CONFIG)).toBe(BASE);
            expect(box.exists(DROPIN)).toBe(false);
            expect(box.exists(PENDING)).toBe(true);
            expect(ok(restore(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=yes\n");
            expect(criStatus(box)).toBe("ok");
            expect(box.exists("/var/lib/dragonfly-cce")).toBe(false);
        });

        test("an apply that changes nothing does not report a stopped containerd as fine", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            ok(box.sh("systemctl stop containerd"));
            const r = apply(box, spec());
            expect(r.code).toBe(1);
            expect(r.stdout).toBe("");
            expect(r.stderr).toContain("containerd is not healthy, and this run changed nothing that needs a restart");
            restartContainerd(box);
            expect(ok(apply(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, spec()));
        });

        test("mirror mode takes over the seed document's http-proxy.conf: gone while mirror mode is in force, back after restore", async () => {
            const box = await nodeWith(boxes, BASE);
            box.write(DROPIN, SEED_DROPIN);
            restartContainerd(box);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            const before = state(box);
            const mirror = spec({ mode: "mirror" });
            const r = apply(box, mirror);
            expect(ok(r)).toMatch(new RegExp(`^dragonfly-cce: changed=.*${DROPIN}.*, restarted=yes\n$`));
            expect(r.stderr).toBe("");
            expect(box.exists(DROPIN)).toBe(false);
            expect(box.containerdEnv().HTTPS_PROXY).toBeUndefined();
            expect(box.containerdEnv().HTTP_PROXY).toBeUndefined();
            expect(dump(box).plugins[CRI].registry.config_path).toBe("/etc/containerd/certs.d");
            expect(criStatus(box)).toBe("ok");
            expect(ok(apply(box, mirror))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(restore(box, mirror));
            expect(state(box)).toEqual(before);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
        });

        test("proxy mode, then mirror mode, on a node with the seed drop-in: the hand drop-in does not come back in mirror mode; proxy again and restore", async () => {
            const box = await nodeWith(boxes, BASE);
            box.write(DROPIN, SEED_DROPIN);
            restartContainerd(box);
            const before = state(box);
            ok(apply(box, spec()));
            expect(box.read(DROPIN)).toContain("# Managed by dragonfly-cce");
            const r = apply(box, spec({ mode: "mirror" }));
            expect(ok(r)).toMatch(new RegExp(`^dragonfly-cce: changed=.*${DROPIN}.*, restarted=yes\n$`));
            expect(box.exists(DROPIN)).toBe(false);
            expect(box.containerdEnv().HTTPS_PROXY).toBeUndefined();
            expect(ok(apply(box, spec({ mode: "mirror" })))).toBe("dragonfly-cce: changed=-, restarted=no\n");
            ok(apply(box, spec()));
            expect(box.read(DROPIN)).toContain("# Managed by dragonfly-cce");
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            ok(apply(box, spec({ mode: "mirror" })));
            ok(restore(box, spec()));
            expect(state(box)).toEqual(before);
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
        });

        test("mirror mode refuses a proxy drop-in it cannot take over, naming the file; nothing changes", async () => {
            const box = await nodeWith(boxes, BASE);
            const cases: [string, string, string][] = [
                [
                    "/etc/systemd/system/containerd.service.d/10-corp-proxy.conf",
                    "Environment=HTTPS_PROXY=http://ops:pw@corp-proxy.example.com:3128\n",
                    "sets HTTPS_PROXY=http://corp-proxy.example.com:3128",
                ],
                [
                    DROPIN,
                    "Environment=HTTP_PROXY=http://corp-proxy.example.com:3128\n",
                    "sets HTTP_PROXY=http://corp-proxy.example.com:3128",
                ],
                [
                    "/etc/systemd/system/containerd.service.d/10-dragonfly.conf",
                    `Environment="HTTPS_PROXY=${ENDPOINT}"\nLimitNOFILE=1048576\n`,
                    `sets HTTPS_PROXY=${ENDPOINT}`,
                ],
            ];
            for (const [file, line, says] of cases) {
                box.write(file, `[Service]\n${line}`);
                const other = state(box);
                const restarts = box.restarts();
                const r = apply(box, spec({ mode: "mirror" }));
                expect(r.code).toBe(1);
                expect(r.stderr).toContain(`${file} ${says}`);
                expect(r.stderr).toContain("mirror mode");
                expect(r.stderr).toContain("Nothing was changed.");
                expect(r.stderr).not.toContain("ops:pw");
                expect(r.stderr).toContain(`naming Dragonfly's endpoint (${ENDPOINT})`);
                expect(state(box)).toEqual(other);
                expect(box.restarts()).toBe(restarts);
                box.sh(`rm -f ${file}`);
            }
            // Proxy mode names both proxies as they are, credentials or not.
            box.write(DROPIN, "[Service]\nEnvironment=HTTPS_PROXY=http://corp-proxy.example.com:3128\n");
            const refused = apply(box, spec());
            expect(refused.code).toBe(1);
            expect(refused.stderr).toContain(
                `${DROPIN} sets HTTPS_PROXY=http://corp-proxy.example.com:3128, another proxy than Dragonfly's (${ENDPOINT})`,
            );
        });

        test("a node whose runtime changed: the old runtime's files are not restored behind its back; refused, naming the way out", async () => {
            const box = await nodeWith(boxes, BASE);
            ok(apply(box, spec()));
            const before = state(box);
            const restarts = box.restarts();
            const r = apply(box, spec({ runtime: "docker" }));
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(
                `dragonfly-cce configured containerd on this node (${CONFIG}), and its runtime is now docker`,
            );
            expect(r.stderr).toContain("remove the node from nodes");
            expect(r.stderr).toContain("Nothing was changed.");
            expect(state(box)).toEqual(before);
            expect(box.restarts()).toBe(restarts);
            // containerd still runs with what is on disk.
            expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
            ok(restore(box, spec()));
            ok(apply(box, spec({ runtime: "docker" })));
            ok(restore(box, spec({ runtime: "docker" })));
        });

        test("Docker: daemon.json proxies that win over the drop-in are refused unless they name Dragonfly's proxy", async () => {
            const box = await nodeWith(boxes, BASE);
            const daemonJson = "/etc/docker/daemon.json";
            const s = spec({ runtime: "docker" });
            box.write(
                daemonJson,
                `{\n  "proxies": {\n    "http-proxy": "${ENDPOINT}",\n    "https-proxy": "http://ops:pw@corp-proxy.example.com:3128"\n  }\n}\n`,
            );
            const before = state(box);
            const r = apply(box, s);
            expect(r.code).toBe(1);
            expect(r.stderr).toContain(
                `${daemonJson} sets proxies.https-proxy=http://corp-proxy.example.com:3128, another proxy than Dragonfly's (${ENDPOINT})`,
            );
            expect(r.stderr).toContain("Nothing was changed.");
            expect(r.stderr).not.toContain("ops:pw");
            expect(state(box)).toEqual(before);
            // Naming Dragonfly's proxy is fine.
            box.write(daemonJson, `{"proxies": {"https-proxy": "${ENDPOINT}/"}}\n`);
            ok(apply(box, s));
            ok(restore(box, s));
        });

        test("a symlinked config.toml: the link's target is edited and the link stays, through a rollback, apply, mode switch and restore", async () => {
            const box = await nodeWith(boxes);
            const target = "/etc/containerd/cce/config.toml";
            box.write(target, BASE);
            ok(box.sh(`ln -s cce/config.toml ${CONFIG}`));
            restartContainerd(box);
            const before = state(box);
            // A run that containerd rejects is rolled back through the link.
            const broken = apply(box, spec(), { env: { STANDIN_BREAK: "cri" } });
            expect(broken.code).toBe(1);
            expect(link(box, CONFIG)).toBe("cce/config.toml");
            expect(box.read(target)).toBe(BASE);
            ok(apply(box, spec()));
            expect(link(box, CONFIG)).toBe("cce/config.toml");
            expect(box.read(target)).toContain("insecure_skip_verify = true");
            expect(dump(box).plugins[CRI].registry.configs[SWR].tls.insecure_skip_verify).toBe(true);
            ok(apply(box, spec({ mode: "mirror" })));
            expect(link(box, CONFIG)).toBe("cce/config.toml");
            expect(dump(box).plugins[CRI].registry.config_path).toBe("/etc/containerd/certs.d");
            expect(criStatus(box)).toBe("ok");
            ok(restore(box, spec()));
            expect(link(box, CONFIG)).toBe("cce/config.toml");
            expect(state(box)).toEqual(before);
        });

        test("Docker: a symlinked daemon.json keeps its link; restore gives back the target's bytes", async () => {
            const box = await nodeWith(boxes, BASE);
            const daemonJson = "/etc/docker/daemon.json";
            const target = "/etc/docker/cce/daemon.json";
            const daemon = `{"log-driver": "json-file"}\n`;
            box.write(target, daemon);
            // A relative link: the test reads the namespace's files from outside, through /proc.
            ok(box.sh(`ln -s cce/daemon.json ${daemonJson}`));
            const before = state(box);
            const s = spec({ runtime: "docker" });
            ok(apply(box, s));
            expect(link(box, daemonJson)).toBe("cce/daemon.json");
            expect(JSON.parse(box.read(target))["insecure-registries"]).toEqual([SWR, "registry.local:5000"]);
            ok(restore(box, s));
            expect(link(box, daemonJson)).toBe("cce/daemon.json");
            expect(box.read(target)).toBe(daemon);
            expect(state(box)).toEqual(before);
        });
    },
);
