/**
 * SSH host keys in the config (lib/hostKeys.ts, nodes[].hostKey, ssh.knownHosts,
 * ssh.hostKeyPolicy): parsing, the key each connection pins, errors that name the key and never
 * quote the text.
 */
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { describePrivileged } from "../helpers/privileged";
import {
    connectionKnownHosts,
    hostKeyReportScript,
    hostKeyAlgorithms,
    keyFromKnownHosts,
    knownHostsLine,
    parseHostKey,
    parseKnownHosts,
    reportedKnownHosts,
} from "../../lib/remote/hostKeys";
import { parseNodeConfig } from "../../lib/node/config";
import { parseStackConfig } from "../../lib/config";
import { ConfigError } from "../../lib/config/validate";

// Real public keys (ssh-keygen output).
const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN96xfhu3vfNpMPExwYcEMz87P7yevU99qU2XHbCQF/J";
const ED2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFmHNBd3UtBQF1XhUfpfUiWtcgtFyo7TTmKsKpUgsyxU";
const ECDSA =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNjGN15+aTODJbpgONTYz17lLdnI2nuBaohmX21YrL2i9QLUdpBjDiLcdxXJaAPL6pv6NqqastyGsPXBEvZG1pE=";
const RSA =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCzjkzt53qwouzZXWR5LNPJWIRH97+AXVdvxC8H/mPbCMMJ/bCj9LHcQ/7ys4T5xEqvoKUxetugx/2ZG68meZkOzLddO+S9T882rGPOKY1eGctuNZWolvbGAaVDnugSCGA/FV4pwGX1VZnlB7+rLFksXv3GB+6LiFV3rmdbB9vnGQ==";
// `ssh-keygen -H` of "10.0.0.7 <ED>" and "[10.0.0.8]:2222 <ED>".
const HASHED = [
    `|1|5MpnDpIQ/MHp1RssEttKsTEwa0k=|9jU1BE8tXUZ+GjlJckkukw2QpfI= ${ED}`,
    `|1|+KBYoVcC6SFiIpxClRl3Y/dJy84=|WR4licOHHI+yNEpT0AAMKH9B1ho= ${ED}`,
].join("\n");
const PRIVATE =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAsecretbits\n-----END OPENSSH PRIVATE KEY-----\n";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----\n";

const BASE = { ssh: { privateKey: KEY }, registries: ["swr.example.com"] };

function errorOf(f: () => unknown): ConfigError {
    try {
        f();
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error("no error thrown");
}

describe("a host key", () => {
    test("is '<type> <base64>' of a known type; the comment is dropped", () => {
        expect(parseHostKey("nodes[0].hostKey", `${ED} root@node-1`)).toBe(ED);
        expect(parseHostKey("k", ECDSA)).toBe(ECDSA);
        expect(parseHostKey("k", `  ${RSA}\n`)).toBe(RSA);
    });

    test.each([
        ["not a string", 42, /got a number/],
        ["empty", " ", /got an empty string/],
        ["one field", "ssh-ed25519", /got text that is not two fields/],
        ["unknown type", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", /got text whose first field is not a host key type/],
        ["not base64", "ssh-ed25519 AAAA$$$$", /got a ssh-ed25519 key whose key data is not base64/],
        ["blob of another type", `ssh-ed25519 ${ECDSA.split(" ")[1]}`, /key data is not a ssh-ed25519 key/],
        ["a private key", PRIVATE, /got a PRIVATE key \(not shown\)/],
    ])("%s is refused with the key named and the text not quoted", (_what, value, message) => {
        const e = errorOf(() => parseHostKey("nodes[3].hostKey", value));
        expect(e.key).toBe("nodes[3].hostKey");
        expect(e.message).toMatch(/^Invalid config dragonfly-cce:nodes\[3\]\.hostKey: got /);
        expect(e.message).toMatch(message);
        expect(e.message).toContain("allowed: a public host key");
        if (typeof value === "string" && value.trim().includes(" ")) {
            expect(e.message).not.toContain(value.split(/\s+/)[1]);
        }
    });
});

describe("ssh.knownHosts", () => {
    test("plain, [host]:port and hashed names; comments and blank lines skipped; lists of lines too", () => {
        const entries = parseKnownHosts(
            "ssh.knownHosts",
            `# nodes\n\n10.0.0.1,Node-1.example.com ${ED} c\n[10.0.0.2]:2222 ${ECDSA}\n${HASHED}\n`,
        );
        expect(keyFromKnownHosts(entries, "10.0.0.1", 22)).toBe(ED);
        expect(keyFromKnownHosts(entries, "node-1.EXAMPLE.com", 22)).toBe(ED);
        expect(keyFromKnownHosts(entries, "10.0.0.2", 2222)).toBe(ECDSA);
        expect(keyFromKnownHosts(entries, "10.0.0.2", 22)).toBeUndefined();
        expect(keyFromKnownHosts(entries, "10.0.0.7", 22)).toBe(ED);
        expect(keyFromKnownHosts(entries, "10.0.0.8", 2222)).toBe(ED);
        expect(keyFromKnownHosts(entries, "10.0.0.8", 22)).toBeUndefined();
        expect(parseKnownHosts("ssh.knownHosts", [`10.0.0.1 ${ED}`])).toHaveLength(1);
    });

    test("several keys for one host: the connection pins the preferred type (ed25519, then ecdsa, then rsa)", () => {
        const entries = parseKnownHosts("k", `h1 ${RSA}\nh1 ${ECDSA}\nh1 ${ED}\nh2 ${RSA}\nh2 ${ECDSA}\n`);
        expect(keyFromKnownHosts(entries, "h1", 22)).toBe(ED);
        expect(keyFromKnownHosts(entries, "h2", 22)).toBe(ECDSA);
    });

    test.each([
        ["a marker line", `@cert-authority *.example.com ${ED}`, /line 1: a marker line/],
        ["a pattern", `*.example.com ${ED}`, /line 1: a host field that is not/],
        ["a negation", `!10.0.0.1 ${ED}`, /line 1: a host field that is not/],
        ["a bad port", `[10.0.0.1]:99999 ${ED}`, /line 1: a host field/],
        ["a short line", `# c\n10.0.0.1 ssh-ed25519`, /line 2: 2 field\(s\)/],
        [
            "a bad key",
            `10.0.0.1 ssh-ed25519 Zm9vYmFy`,
            /line 1: a ssh-ed25519 key whose key data is not a ssh-ed25519 key/,
        ],
        ["a private key", PRIVATE, /PRIVATE key \(not shown\)|field/],
        ["a number", 7, /got a number/],
    ])("%s is refused, naming ssh.knownHosts and the line, not its text", (_what, value, message) => {
        const e = errorOf(() => parseNodeConfig({ ...BASE, ssh: { ...BASE.ssh, knownHosts: value } }));
        expect(e.key).toBe("ssh.knownHosts");
        expect(e.message).toMatch(message);
        expect(e.message).not.toContain("example.com");
        expect(e.message).not.toContain("secretbits");
    });
});

describe("the key each node's connection pins, by policy", () => {
    const nodes = [
        { name: "n1", host: "10.0.0.1" },
        { name: "n2", host: "10.0.0.2", port: 2222, hostKey: ED2 },
    ];

    test("nothing configured: policy unchecked, no key", () => {
        const cfg = parseNodeConfig({ ...BASE, nodes: [{ host: "10.0.0.1" }] });
        expect(cfg.ssh.hostKeyPolicy).toBe("unchecked");
        expect(cfg.nodes[0].hostKey).toBeUndefined();
    });

    test("any key given: pinned by default, and a node without a key is refused by name", () => {
        const e = errorOf(() => parseNodeConfig({ ...BASE, nodes }));
        expect(e.key).toBe("nodes[0].hostKey");
        expect(e.message).toContain("ssh.knownHosts has no key for 10.0.0.1");
        expect(e.message).toContain('"pinned", the default once any key is given');
        expect(e.message).toContain("accept-new-and-report");
    });

    test("pinned: nodes[].hostKey wins over ssh.knownHosts; [host]:port for other ports", () => {
        const cfg = parseNodeConfig({
            ...BASE,
            nodes,
            ssh: { ...BASE.ssh, knownHosts: `10.0.0.1 ${ECDSA}\n[10.0.0.2]:2222 ${RSA}\n` },
        });
        expect(cfg.ssh.hostKeyPolicy).toBe("pinned");
        expect(cfg.nodes.map((n) => n.hostKey)).toEqual([ECDSA, ED2]);
    });

    test("accept-new-and-report: keys that are known are pinned, the others stay open (and are reported)", () => {
        const cfg = parseNodeConfig({ ...BASE, nodes, ssh: { ...BASE.ssh, hostKeyPolicy: "accept-new-and-report" } });
        expect(cfg.ssh.hostKeyPolicy).toBe("accept-new-and-report");
        expect(cfg.nodes.map((n) => n.hostKey)).toEqual([undefined, ED2]);
    });

    test("explicit pinned without any key refuses the first node", () => {
        const e = errorOf(() =>
            parseNodeConfig({ ...BASE, nodes: [{ host: "10.0.0.1" }], ssh: { ...BASE.ssh, hostKeyPolicy: "pinned" } }),
        );
        expect(e.key).toBe("nodes[0].hostKey");
    });

    test("a bad policy is refused with the choices", () => {
        const e = errorOf(() => parseNodeConfig({ ...BASE, ssh: { ...BASE.ssh, hostKeyPolicy: "yes" } }));
        expect(e.message).toMatch(/ssh\.hostKeyPolicy: got "yes"; allowed: one of "pinned", "accept-new-and-report"/);
    });

    test("ssh.knownHosts covers the bastion; pinned refuses a bastion without a line", () => {
        const bastion = { host: "bastion.example.com", port: 2200 };
        const cfg = parseNodeConfig({
            ...BASE,
            nodes: [{ host: "10.0.0.1" }],
            ssh: { ...BASE.ssh, bastion, knownHosts: `10.0.0.1 ${ED}\n[bastion.example.com]:2200 ${ECDSA}\n` },
        });
        expect(cfg.ssh.bastion?.hostKey).toBe(ECDSA);
        const e = errorOf(() =>
            parseNodeConfig({
                ...BASE,
                nodes: [{ host: "10.0.0.1" }],
                ssh: { ...BASE.ssh, bastion, knownHosts: `10.0.0.1 ${ED}` },
            }),
        );
        expect(e.key).toBe("ssh.knownHosts");
        expect(e.message).toContain("no line for the bastion");
    });

    test("an ssh-rsa key is never pinned: refused at preview, saying why and what to pin instead", () => {
        const own = errorOf(() => parseNodeConfig({ ...BASE, nodes: [{ host: "10.0.0.1", hostKey: RSA }] }));
        expect(own.key).toBe("nodes[0].hostKey");
        expect(own.value).toBe("an ssh-rsa key (value not shown)");
        expect(own.allowed).toMatch(/^an ed25519 or ECDSA host key .*ssh-rsa \(SHA-1\).*OpenSSH 8\.8 and later refuse/);
        const known = errorOf(() =>
            parseNodeConfig({
                ...BASE,
                nodes: [{ host: "10.0.0.1" }, { host: "10.0.0.2", port: 2222 }],
                ssh: { ...BASE.ssh, knownHosts: `10.0.0.1 ${ED}\n[10.0.0.2]:2222 ${RSA}\n` },
            }),
        );
        expect(known.key).toBe("ssh.knownHosts");
        expect(known.value).toBe("only an ssh-rsa key for [10.0.0.2]:2222 (10.0.0.2) (value not shown)");
        const bastion = errorOf(() =>
            parseNodeConfig({
                ...BASE,
                nodes: [{ host: "10.0.0.1" }],
                ssh: {
                    ...BASE.ssh,
                    bastion: { host: "b.example.com" },
                    knownHosts: `10.0.0.1 ${ED}\nb.example.com ${RSA}\n`,
                },
            }),
        );
        expect(bastion.key).toBe("ssh.knownHosts");
        expect(bastion.value).toMatch(/^only an ssh-rsa key for the bastion/);
        // ssh-keyscan's output lists RSA too: the host's better key is pinned, and nothing refused.
        const cfg = parseNodeConfig({
            ...BASE,
            nodes: [{ host: "10.0.0.1" }],
            ssh: { ...BASE.ssh, knownHosts: `10.0.0.1 ${RSA}\n10.0.0.1 ${ECDSA}\n10.0.0.1 ${ED}\n` },
        });
        expect(cfg.nodes[0].hostKey).toBe(ED);
    });

    test("a bad hostKey coming from nodesFromStack is named by its source", () => {
        const e = errorOf(() =>
            parseStackConfig(
                { nodePool: "p", ...BASE },
                {
                    entries: [{ host: "10.0.0.9", hostKey: "nope" }],
                    source: { stack: "org/nodes/dev", output: "hosts" },
                },
            ),
        );
        expect(e.key).toBe("nodesFromStack (output hosts of org/nodes/dev)[0].hostKey");
    });
});

describe("known_hosts lines for a connection (what OpenSSH is given in tests/e2e/hostKeys.test.ts)", () => {
    test("host at 22, [host]:port elsewhere, the bastion's line too; nothing when nothing is pinned", () => {
        expect(knownHostsLine("10.0.0.1", 22, ED)).toBe(`10.0.0.1 ${ED}`);
        expect(knownHostsLine("fd00::1", 2222, ED)).toBe(`[fd00::1]:2222 ${ED}`);
        expect(
            connectionKnownHosts({
                host: "10.0.0.1",
                port: 22,
                hostKey: ED,
                proxy: { host: "b", port: 2200, hostKey: ECDSA },
            }),
        ).toBe(`10.0.0.1 ${ED}\n[b]:2200 ${ECDSA}\n`);
        expect(connectionKnownHosts({ host: "10.0.0.1", port: 22 })).toBe("");
        expect(hostKeyAlgorithms(ED)).toBe("ssh-ed25519");
        // Exactly what the command provider offers for a pinned key: its own type.
        expect(hostKeyAlgorithms(RSA)).toBe("ssh-rsa");
    });

    test("the report script's output becomes known_hosts lines; junk lines are dropped", () => {
        const out = `dragonfly-cce-hostkey: ${ED}\ndragonfly-cce-hostkey: ssh-ed25519 garbage\nnoise\ndragonfly-cce-hostkey: ${ECDSA}\n`;
        expect(reportedKnownHosts(out, "10.0.0.5", 22)).toEqual([`10.0.0.5 ${ED}`, `10.0.0.5 ${ECDSA}`]);
    });
});

describePrivileged("the host key report script", { commands: ["shellcheck", "bash"] }, () => {
    test("is clean under shellcheck", () => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: hostKeyReportScript(), encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    test("prints each readable host public key as a report line (run against a copy of /etc/ssh)", () => {
        const dir = mkdtempSync(join(tmpdir(), "hostkeys-"));
        try {
            writeFileSync(join(dir, "ssh_host_ed25519_key.pub"), `${ED} root@node\n`);
            writeFileSync(join(dir, "ssh_host_ecdsa_key.pub"), `${ECDSA}\n`);
            const script = hostKeyReportScript().replace("/etc/ssh/", `${dir}/`);
            expect(script).not.toBe(hostKeyReportScript());
            const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
            expect(r.status).toBe(0);
            expect(reportedKnownHosts(r.stdout, "10.0.0.5", 2222).sort()).toEqual(
                [`[10.0.0.5]:2222 ${ECDSA}`, `[10.0.0.5]:2222 ${ED}`].sort(),
            );
            rmSync(join(dir, "ssh_host_ed25519_key.pub"));
            rmSync(join(dir, "ssh_host_ecdsa_key.pub"));
            const none = spawnSync("bash", ["-c", script], { encoding: "utf8" });
            expect(none.status).toBe(1);
            expect(none.stderr).toContain("no readable");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
