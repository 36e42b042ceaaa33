/**
 * SSH host keys against the test world's real sshd (tests/helpers/world), which has Debian's
 * three host keys (ed25519, ecdsa, rsa): the connection settings the stack gives a node
 * (lib/remote/connection.ts `connectionArgs`, the key it pins) turned into known_hosts lines
 * (lib/hostKeys.ts `connectionKnownHosts`) and handed to OpenSSH with StrictHostKeyChecking=yes
 * and HostKeyAlgorithms set to exactly what the command provider offers for a pinned key (the
 * key's own type, `hostKeyAlgorithms`): the same negotiation and check @pulumi/command makes with
 * `hostKey`. The right key connects; a wrong key is refused before anything runs on the node,
 * proven by the marker file the script would have written; an ssh-rsa key, which no connection
 * can use, is refused at preview.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";

import { connectionArgs } from "../../lib/remote/connection";
import { connectionKnownHosts, hostKeyAlgorithms } from "../../lib/remote/hostKeys";
import { NodeConfig, parseNodeConfig } from "../../lib/node/config";
import { ConfigError } from "../../lib/config/validate";
import { remoteCommand } from "../../lib/remote/shell";
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
            hostKeyTypes: ["ed25519", "ecdsa", "rsa"],
        });
        world.node = node;
        await node.start();
        keys = mkdtempSync(join(world.dir, "operator-"));
    }, 60_000);

    afterAll(() => {
        expect(world.destroy()).toEqual([]);
    });

    /** The node's real host public key, as an operator copies it into the config. */
    const realHostKey = (type = "ed25519") =>
        readFileSync(join(node.sshDir, `ssh_host_${type}_key.pub`), "utf8").trim();
    /** Every host key the server has, as `ssh-keyscan` lists them (type and key). */
    const serverKeys = () =>
        readdirSync(node.sshDir)
            .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
            .map((f) => readFileSync(join(node.sshDir, f), "utf8").trim().split(/\s+/).slice(0, 2).join(" "));

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
        return runWithKey(conn as { host: string; port: number; hostKey: string }, script, tag);
    }

    /** Connects pinning `conn.hostKey`, offering only its type, as the command provider does. */
    async function runWithKey(
        conn: { host: string; port: number; hostKey: string },
        script: string,
        tag: string,
    ): Promise<RunResult> {
        const knownHosts = join(keys, `known_hosts-${tag}`);
        writeFileSync(knownHosts, connectionKnownHosts(conn));
        return run(
            "ssh",
            [
                ...sshOptions({
                    knownHosts,
                    identity: join(node.sshDir, "id_ed25519"),
                    extra: [`HostKeyAlgorithms=${hostKeyAlgorithms(conn.hostKey)}`],
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

    test("a wrong key of another type (ecdsa): refused too (one key per connection)", async () => {
        await run("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", join(keys, "other-type")]);
        const other = readFileSync(join(keys, "other-type.pub"), "utf8").trim();
        const r = await runPinned(config({}, { hostKey: other }), markerScript("marker-other"), "other");
        expect(r.code).toBe(255);
        expect(existsSync(marker("marker-other"))).toBe(false);
    });

    test("the server has Debian's three host key types", () => {
        expect(
            serverKeys()
                .map((k) => k.split(" ")[0])
                .sort(),
        ).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]);
    });

    test.each(["ed25519", "ecdsa"])("the server's real %s key, pinned in nodes[].hostKey, connects", async (type) => {
        const cfg = config({}, { hostKey: realHostKey(type) });
        const r = await runPinned(cfg, markerScript(`marker-${type}`), type);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(readFileSync(marker(`marker-${type}`), "utf8")).toBe("ran\n");
    });

    test("every key the server has, as ssh-keyscan lists them: the connection pins ed25519 and connects", async () => {
        const cfg = config({
            knownHosts: serverKeys()
                .map((k) => `${ADDR.node} ${k}\n`)
                .join(""),
        });
        expect(cfg.nodes[0].hostKey).toBe(realHostKey("ed25519").split(/\s+/).slice(0, 2).join(" "));
        const r = await runPinned(cfg, markerScript("marker-keyscan"), "keyscan");
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    });

    test("the server's real ssh-rsa key: refused at preview, because no connection pinning it can be made", async () => {
        const rsa = realHostKey("rsa");
        for (const cfg of [() => config({}, { hostKey: rsa }), () => config({ knownHosts: `${ADDR.node} ${rsa}\n` })]) {
            let e: unknown;
            try {
                cfg();
            } catch (err) {
                e = err;
            }
            expect(e).toBeInstanceOf(ConfigError);
            expect((e as ConfigError).message).toMatch(/ssh-rsa.*OpenSSH 8\.8/);
        }
        // Why: pinned as the provider pins it (offering only ssh-rsa, SHA-1), this server's
        // OpenSSH refuses the connection before anything runs.
        const r = await runWithKey(
            { host: ADDR.node, port: 22, hostKey: rsa.split(/\s+/).slice(0, 2).join(" ") },
            markerScript("marker-rsa"),
            "rsa",
        );
        expect(r.code).toBe(255);
        expect(r.stderr).toMatch(/no matching host key type found/);
        expect(existsSync(marker("marker-rsa"))).toBe(false);
    });
});
