/**
 * The node host of the test world: a network namespace plus its own mount namespace in which
 * Debian's real containerd and sshd run. The machine's /etc is never written: inside the node's
 * mount namespace, run-private copies are bind-mounted over /etc/containerd,
 * /etc/systemd/system, /etc/passwd, /etc/group, /etc/shadow, /etc/sudoers.d, the CA bundle,
 * /run, /tmp and /usr/bin/systemctl (the recording stand-in); /var/lib gets an overlay whose
 * upper layer is run-private (the node scripts keep their backups in /var/lib/dragonfly-cce).
 *
 * Users: `root` and `dfadmin` (non-root, passwordless sudo), both with a per-run key pair; the
 * host key is generated per run and pinned in the client's known_hosts.
 */
import { ChildProcess, spawn } from "child_process";
import {
    chmodSync,
    chownSync,
    closeSync,
    copyFileSync,
    existsSync,
    mkdirSync,
    openSync,
    readFileSync,
    writeFileSync,
} from "fs";
import { join } from "path";
import { run, RunResult, waitFor } from "./exec";

export const SUDO_USER = "dfadmin";
const SUDO_UID = 4242;

export interface NodeOptions {
    netns: string;
    address: string;
    /** Namespace the SSH client runs in (the "operator's machine"). */
    clientNetns: string;
    /** Run directory (not under /tmp: the node gets its own /tmp). */
    dir: string;
    /** Extra CA certificate the node trusts (appended to the system bundle). */
    trustedCa?: string;
    /** Initial /etc/containerd/config.toml. */
    configToml: string;
    /**
     * An existing client key pair (`KEY` and `KEY.pub`) that may log in, so that several nodes
     * share one operator key; default: a key pair generated for this node.
     */
    clientKey?: string;
    /** A directory the node sees as /usr/local/sbin (tools a real node has, e.g. crictl). */
    binDir?: string;
    /**
     * The sshd's host key types (`ssh_host_<type>_key`), in the order sshd loads them. Default:
     * ed25519 only; Debian's sshd has ed25519, ecdsa and rsa.
     */
    hostKeyTypes?: ("ed25519" | "ecdsa" | "rsa")[];
}

/**
 * The OpenSSH client options of every test connection: no user config, no agent, only the
 * given key, and the host key checked strictly against `knownHosts` alone.
 */
export function sshOptions(o: { knownHosts: string; identity: string; extra?: string[] }): string[] {
    const options = [
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        `UserKnownHostsFile=${o.knownHosts}`,
        "GlobalKnownHostsFile=/dev/null",
        ...(o.extra ?? []),
        "IdentitiesOnly=yes",
        "IdentityAgent=none",
        "ConnectTimeout=5",
    ];
    return ["-F", "/dev/null", ...options.flatMap((opt) => ["-o", opt]), "-i", o.identity];
}

export class NodeHost {
    readonly runDir: string;
    readonly etcContainerd: string;
    readonly etcSystemd: string;
    readonly sshDir: string;
    private child?: ChildProcess;

    constructor(readonly opts: NodeOptions) {
        this.runDir = join(opts.dir, "run");
        this.etcContainerd = join(opts.dir, "etc-containerd");
        this.etcSystemd = join(opts.dir, "etc-systemd-system");
        this.sshDir = join(opts.dir, "ssh");
    }

    /** containerd's socket as seen from the test process. */
    get containerdSocket(): string {
        return join(this.runDir, "containerd", "containerd.sock");
    }

    get standinDir(): string {
        return join(this.runDir, "systemctl-standin");
    }

    async start(): Promise<void> {
        const o = this.opts;
        const d = o.dir;
        for (const dir of [
            this.runDir,
            this.etcContainerd,
            this.etcSystemd,
            this.sshDir,
            join(d, "node-tmp"),
            join(d, "sudoers.d"),
            join(this.sshDir, "authorized_keys"),
            join(d, "home", SUDO_USER),
            join(d, "varlib-upper"),
            join(d, "varlib-work"),
        ]) {
            mkdirSync(dir, { recursive: true });
            chmodSync(dir, 0o755);
        }
        chmodSync(join(d, "node-tmp"), 0o1777);
        chmodSync(d, 0o755);
        writeFileSync(join(this.etcContainerd, "config.toml"), o.configToml);

        // Users: copies of the machine's files plus the sudo user, bind-mounted in the node only.
        writeFileSync(
            join(d, "passwd"),
            readFileSync("/etc/passwd", "utf8") +
                `${SUDO_USER}:x:${SUDO_UID}:${SUDO_UID}:dragonfly-cce test:${join(d, "home", SUDO_USER)}:/bin/bash\n`,
        );
        writeFileSync(join(d, "group"), readFileSync("/etc/group", "utf8") + `${SUDO_USER}:x:${SUDO_UID}:\n`);
        const shadow = readFileSync("/etc/shadow", "utf8")
            .split("\n")
            .map((l) => (l.startsWith("root:") ? l.replace(/^root:[^:]*:/, "root:*:") : l))
            .join("\n");
        writeFileSync(join(d, "shadow"), `${shadow.replace(/\n*$/, "\n")}${SUDO_USER}:*:19000:0:99999:7:::\n`, {
            mode: 0o640,
        });
        chownSync(join(d, "home", SUDO_USER), SUDO_UID, SUDO_UID);
        writeFileSync(join(d, "sudoers.d", SUDO_USER), `${SUDO_USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });

        // CA bundle: the system's plus the registry CA.
        const bundle = existsSync("/etc/ssl/certs/ca-certificates.crt")
            ? readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8")
            : "";
        writeFileSync(join(d, "ca-certificates.crt"), bundle + (o.trustedCa ? readFileSync(o.trustedCa, "utf8") : ""));

        copyFileSync(join(__dirname, "..", "systemctl-standin.sh"), join(d, "systemctl"));
        chmodSync(join(d, "systemctl"), 0o755);

        // SSH: host keys, client key (one per user), sshd_config.
        const hostKeys = (o.hostKeyTypes ?? ["ed25519"]).map((t) => join(this.sshDir, `ssh_host_${t}_key`));
        for (const [i, t] of (o.hostKeyTypes ?? ["ed25519"]).entries()) {
            await run("ssh-keygen", ["-q", "-t", t, "-N", "", "-C", "node-host", "-f", hostKeys[i]]);
        }
        const hostKey = hostKeys[0];
        const identity = join(this.sshDir, "id_ed25519");
        if (o.clientKey === undefined) {
            await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", identity]);
        } else {
            copyFileSync(o.clientKey, identity);
            copyFileSync(`${o.clientKey}.pub`, `${identity}.pub`);
            chmodSync(identity, 0o600);
        }
        const pub = readFileSync(join(this.sshDir, "id_ed25519.pub"), "utf8");
        for (const user of ["root", SUDO_USER]) {
            writeFileSync(join(this.sshDir, "authorized_keys", user), pub, { mode: 0o644 });
        }
        const hostPub = readFileSync(`${hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
        writeFileSync(join(this.sshDir, "known_hosts"), `${o.address} ${hostPub}\n`);
        writeFileSync(
            join(this.sshDir, "sshd_config"),
            [
                `ListenAddress ${o.address}:22`,
                ...hostKeys.map((k) => `HostKey ${k}`),
                "PidFile /run/sshd.pid",
                `AuthorizedKeysFile ${join(this.sshDir, "authorized_keys")}/%u`,
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "",
            ].join("\n"),
        );

        const boot = join(d, "node-boot.sh");
        writeFileSync(
            boot,
            [
                "#!/usr/bin/env bash",
                "set -euo pipefail",
                `d=${d}`,
                'mount --bind "$d/run" /run',
                "mkdir -p /run/sshd /run/containerd && chmod 0755 /run/sshd",
                'mount --bind "$d/etc-containerd" /etc/containerd',
                'mount --bind "$d/etc-systemd-system" /etc/systemd/system',
                'for f in passwd group shadow; do mount --bind "$d/$f" "/etc/$f"; done',
                'mount --bind "$d/sudoers.d" /etc/sudoers.d',
                'mount --bind "$d/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt',
                'mount --bind "$d/systemctl" /usr/bin/systemctl',
                'mount --bind "$d/node-tmp" /tmp',
                ...(o.binDir === undefined ? [] : [`mount --bind ${o.binDir} /usr/local/sbin`]),
                // The scripts keep their state in /var/lib/dragonfly-cce: writes to /var/lib land
                // in a run-private upper layer, the machine's /var/lib stays as it is.
                'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$d/varlib-upper,workdir=$d/varlib-work" /var/lib',
                "systemctl daemon-reload",
                "systemctl start containerd",
                'exec /usr/sbin/sshd -D -e -f "$d/ssh/sshd_config"',
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const log = openSync(join(d, "node-boot.log"), "a");
        this.child = spawn(
            "ip",
            ["netns", "exec", o.netns, "unshare", "-m", "--propagation", "private", "bash", boot],
            {
                stdio: ["ignore", log, log],
            },
        );
        closeSync(log);
        await waitFor(
            "sshd on the node",
            async () => {
                if (this.child?.exitCode !== null) {
                    throw new Error(`node boot failed: ${readFileSync(join(d, "node-boot.log"), "utf8").slice(-2000)}`);
                }
                const r = await this.ssh("root", "true", { allowFailure: true });
                return r.code === 0 ? true : undefined;
            },
            30_000,
        );
    }

    /** Runs `command` over a real SSH session, exactly as given (one string, as a remote command does). */
    ssh(user: string, command: string, opts: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
        return run(
            "ssh",
            [
                ...sshOptions({
                    knownHosts: join(this.sshDir, "known_hosts"),
                    identity: join(this.sshDir, "id_ed25519"),
                }),
                "-o",
                "LogLevel=ERROR",
                `${user}@${this.opts.address}`,
                command,
            ],
            { netns: this.opts.clientNetns, allowFailure: opts.allowFailure, timeoutMs: opts.timeoutMs ?? 60_000 },
        );
    }

    /** systemctl calls recorded on the node, in order ("systemctl restart containerd"). */
    systemctlCalls(): string[] {
        const f = join(this.standinDir, "calls.log");
        return existsSync(f)
            ? readFileSync(f, "utf8")
                  .split("\n")
                  .filter((l) => l !== "")
            : [];
    }

    /** How many times containerd was (re)started by systemctl (boot start included). */
    containerdStarts(): number {
        return this.systemctlCalls().filter((c) => /^systemctl (start|restart) containerd\b/.test(c)).length;
    }

    containerdLog(): string {
        const f = join(this.standinDir, "containerd.log");
        return existsSync(f) ? readFileSync(f, "utf8") : "";
    }

    stop(): void {
        this.child?.kill("SIGKILL");
    }
}
