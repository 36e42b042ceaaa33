/**
 * Issue 18, items 4, 7 and 10, and the review of the same class (a rollback or a second mode
 * that leaves a file or a unit in force without saying so), against Debian's real containerd 1.6
 * in a private mount namespace (see sandbox.ts). Each test failed before its fix.
 */
import { describePrivileged } from "../helpers/privileged";
import { NodeSandbox } from "./sandbox";
import { apply, CONFIG, CRI, criStatus, DROPIN, ENDPOINT, nodeWith, ok, restore, spec, state } from "./nodeHelpers";

const BASE = `version = 2

[plugins]
  [plugins."${CRI}"]
    sandbox_image = "cce-pause:3.1"
`;
const PENDING = "/var/lib/dragonfly-cce/restart-pending";
const BACKUP_CONFIG = `/var/lib/dragonfly-cce/backup/files${CONFIG}`;
/** A drop-in of the operator's that sets no proxy (the stand-in breaks starts while one exists). */
const LIMITS = "/etc/systemd/system/containerd.service.d/10-limits.conf";
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
            expect(r.status).toBe(1);
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
            ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
            const before = state(box);
            ok(apply(box, spec()));
            const r = restore(box, spec(), { env: { STANDIN_BREAK: "start" } });
            expect(r.status).toBe(1);
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
            ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
            const r = apply(box, spec(), { env: { STANDIN_BREAK: "start" } });
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("the previous files were put back but containerd is still not healthy");
            expect(box.read(CONFIG)).toBe(BASE);
            expect(box.exists(DROPIN)).toBe(false);
            expect(box.exists(PENDING)).toBe(true);
            expect(ok(restore(box, spec()))).toBe("dragonfly-cce: changed=-, restarted=yes\n");
            expect(criStatus(box)).toBe("ok");
            expect(box.exists("/var/lib/dragonfly-cce")).toBe(false);
        });
    },
);
