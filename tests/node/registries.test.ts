/**
 * Issue 18, items 5 and 6, against Debian's real containerd in a private mount namespace (see
 * sandbox.ts): another proxy set through `EnvironmentFile=` or the runtime's own unit file is
 * refused like one set by `Environment=`; mirror mode carries the Docker-style certificate files
 * of `certs.d/<host>/` into the hosts.toml it writes. Each test failed before its fix.
 */
import { describePrivileged } from "../helpers/privileged";
import { NodeSandbox } from "./sandbox";
import { apply, CRI, criStatus, DROPIN, ENDPOINT, nodeWith, ok, restore, spec, state } from "./nodeHelpers";

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
            expect(r.status).toBe(1);
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
            ]) {
                box.write(envFile, content, 0o600);
                box.write(dropin, `[Service]\n${line}\n`);
                ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
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
                ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
                expect(box.containerdEnv().HTTPS_PROXY).toBe(CORP);
                expectRefused(
                    box,
                    line.startsWith("EnvironmentFile") ? `${envFile} (EnvironmentFile= of ${unit})` : unit,
                );
            }
            expect(box.exists(DROPIN)).toBe(false);
        });
    },
);
