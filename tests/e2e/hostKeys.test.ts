/**
 * SSH host keys against the test world's real sshd (tests/helpers/world): the connection
 * settings the stack gives a node (components/nodeRuntime.ts `connectionArgs`, the key it pins)
 * turned into known_hosts lines (lib/hostKeys.ts `connectionKnownHosts`) and handed to OpenSSH
 * with StrictHostKeyChecking=yes, the same check @pulumi/command makes with `hostKey`. The right
 * key connects; a wrong key is refused before anything runs on the node, proven by the marker
 * file the script would have written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";

import { connectionArgs } from "../../components/nodeRuntime";
import { connectionKnownHosts, hostKeyAlgorithms } from "../../lib/config/hostKeys";
import { NodeConfig, parseNodeConfig } from "../../lib/config/nodes";
import { remoteCommand } from "../../lib/node/scripts";
import { describePrivileged } from "../helpers/privileged";
import { run, RunResult } from "../helpers/world/exec";
import { createNetwork } from "../helpers/world/netns";
import { NodeHost, sshOptions } from "../helpers/world/node";
import { ADDR, World } from "../helpers/world/world";

const NEEDS = { root: true, commands: ["ip", "unshare", "containerd", "sshd", "ssh", "ssh-keygen"] };

describePrivileged("SSH host keys: the stack's pinned key against a real sshd", NEEDS, () => {
    const world = new World();
    let node: NodeHost;
    let keys: string;

    beforeAll(async () => {
        world.net = await createNetwork(world.pid, { node: [10] }, world.namespaces);
        node = new NodeHost({
            netns: world.net.hosts.node.netns,
            address: ADDR.node,
            clientNetns: world.net.hub.netns,
            dir: world.dir,
            configToml: world.configHead(),
        });
        world.node = node;
        await node.start();
        keys = mkdtempSync(join(world.dir, "operator-"));
    }, 60_000);

    afterAll(() => {
        expect(world.destroy()).toEqual([]);
    });

    /** The node's real host public key, as an operator copies it into the config. */
    const realHostKey = () => readFileSync(join(node.sshDir, "ssh_host_ed25519_key.pub"), "utf8").trim();

    function config(ssh: Record<string, unknown>, nodeExtra: Record<string, unknown> = {}): NodeConfig {
        return parseNodeConfig({
            nodes: [{ name: "e2e", host: ADDR.node, ...nodeExtra }],
            ssh: { privateKey: readFileSync(join(node.sshDir, "id_ed25519"), "utf8"), ...ssh },
            registries: ["registry.example.com"],
        });
    }

    /** Runs a script over SSH with exactly the trust the stack's connection settings express. */
    async function runPinned(cfg: NodeConfig, script: string, tag: string): Promise<RunResult> {
        const conn = connectionArgs(cfg.nodes[0], cfg.ssh) as { host: string; port: number; hostKey?: string };
        expect(conn.hostKey).toBeDefined();
        const knownHosts = join(keys, `known_hosts-${tag}`);
        writeFileSync(knownHosts, connectionKnownHosts(conn));
        return run(
            "ssh",
            [
                ...sshOptions({
                    knownHosts,
                    identity: join(node.sshDir, "id_ed25519"),
                    extra: [`HostKeyAlgorithms=${hostKeyAlgorithms(conn.hostKey as string)}`],
                }),
                "-p",
                String(conn.port),
                `root@${conn.host}`,
                remoteCommand(script, { sudo: false }),
            ],
            { netns: world.net.hub.netns, allowFailure: true, timeoutMs: 30_000 },
        );
    }

    const markerScript = (name: string) => `#!/usr/bin/env bash\nset -euo pipefail\necho ran > /tmp/${name}\n`;
    const marker = (name: string) => join(world.dir, "node-tmp", name);

    test("the right key, from ssh.knownHosts: the connection is made and the script runs", async () => {
        const cfg = config({ knownHosts: `# the e2e node\n${ADDR.node} ${realHostKey()}\n` });
        expect(cfg.ssh.hostKeyPolicy).toBe("pinned");
        const r = await runPinned(cfg, markerScript("marker-right"), "right");
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(readFileSync(marker("marker-right"), "utf8")).toBe("ran\n");
    });

    test("a wrong key in nodes[].hostKey: refused before anything runs on the node", async () => {
        await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f", join(keys, "impostor")]);
        const wrong = readFileSync(join(keys, "impostor.pub"), "utf8").trim();
        const cfg = config({}, { hostKey: wrong });
        const r = await runPinned(cfg, markerScript("marker-wrong"), "wrong");
        expect(r.code).toBe(255);
        expect(r.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
        expect(existsSync(marker("marker-wrong"))).toBe(false);
    });

    test("the right key of another type than the server's: refused too (one key per connection)", async () => {
        await run("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", join(keys, "other-type")]);
        const other = readFileSync(join(keys, "other-type.pub"), "utf8").trim();
        const r = await runPinned(config({}, { hostKey: other }), markerScript("marker-other"), "other");
        expect(r.code).toBe(255);
        expect(existsSync(marker("marker-other"))).toBe(false);
    });
});
