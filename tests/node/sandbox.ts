/**
 * A private mount namespace in which node scripts run for real as root, without touching the
 * machine: tmpfs over /etc/containerd, /etc/systemd/system, /etc/docker and /var/lib (so
 * /var/lib/dragonfly-cce starts absent), the systemctl/journalctl/docker stand-in first on PATH,
 * and containerd with private socket/root/state paths. Everything goes away in `close()`.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { RunResult } from "../helpers/world/exec";

const STANDIN = path.join(__dirname, "..", "helpers", "systemctl-standin.sh");
let counter = 0;

/** A process's exit code as tests/helpers/world/exec.ts gives it: 128 when a signal ended it. */
export function exitCode(status: number | null, signal: NodeJS.Signals | null): number {
    return status ?? (signal ? 128 : 1);
}

export class NodeSandbox {
    readonly dir: string;
    readonly holderPid: number;
    readonly env: Record<string, string>;

    private constructor(dir: string, holderPid: number) {
        this.dir = dir;
        this.holderPid = holderPid;
        this.env = {
            PATH: `${dir}/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            STANDIN_DIR: `${dir}/standin`,
            CONTAINERD_ADDRESS: `${dir}/ctd/containerd.sock`,
            STANDIN_CONTAINERD_DIR: `${dir}/ctd`,
            DRAGONFLY_CCE_HEALTH_TIMEOUT: "10",
        };
    }

    /** Starts the namespace (async: waits until the holder process runs in its own namespace). */
    static async create(): Promise<NodeSandbox> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dfcce-node-${process.pid}-${counter++}-`));
        for (const d of ["bin", "standin", "ctd"]) {
            fs.mkdirSync(path.join(dir, d));
        }
        for (const name of ["systemctl", "journalctl", "docker"]) {
            fs.symlinkSync(STANDIN, path.join(dir, "bin", name));
        }
        const holder = spawn("unshare", ["-m", "--propagation", "private", "sleep", "900"], {
            stdio: "ignore",
            detached: true,
        });
        holder.unref();
        const pid = holder.pid!;
        const ours = fs.readlinkSync("/proc/self/ns/mnt");
        for (let i = 0; i < 200; i++) {
            try {
                if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== ours) {
                    break;
                }
            } catch {
                // not started yet
            }
            await new Promise((r) => setTimeout(r, 10));
        }
        const box = new NodeSandbox(dir, pid);
        const mounts = ["/etc/containerd", "/etc/systemd/system", "/etc/docker", "/var/lib", `${dir}/ctd`]
            .map((m) => `mount -t tmpfs -o mode=0755 dfcce-test ${m}`)
            .join(" && ");
        const r = box.sh(mounts);
        if (r.code !== 0) {
            box.close();
            throw new Error(`cannot set up the mount namespace: ${r.stderr}`);
        }
        return box;
    }

    /** Runs `sh -c command` inside the namespace with the stand-ins on PATH. */
    sh(command: string, opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
        const r = spawnSync("nsenter", ["-t", String(this.holderPid), "-m", "--", "sh", "-c", command], {
            input: opts.input ?? "",
            env: { ...this.env, ...opts.env },
            encoding: "utf8",
            timeout: 60000,
        });
        return { code: exitCode(r.status, r.signal), stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    /** `sh` without blocking: several sandboxes run at the same time (benchmarks). */
    shAsync(command: string, opts: { env?: Record<string, string> } = {}): Promise<RunResult> {
        return new Promise((resolve) => {
            const child = spawn("nsenter", ["-t", String(this.holderPid), "-m", "--", "sh", "-c", command], {
                env: { ...this.env, ...opts.env },
                stdio: ["ignore", "pipe", "pipe"],
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("close", (status, signal) => resolve({ code: exitCode(status, signal), stdout, stderr }));
        });
    }

    /** The namespace's view of an absolute path, for reading and writing from this process. */
    p(abs: string): string {
        return `/proc/${this.holderPid}/root${abs}`;
    }

    read(abs: string): string {
        return fs.readFileSync(this.p(abs), "utf8");
    }

    exists(abs: string): boolean {
        return fs.existsSync(this.p(abs));
    }

    write(abs: string, content: string, mode = 0o644): void {
        fs.mkdirSync(path.dirname(this.p(abs)), { recursive: true });
        fs.writeFileSync(this.p(abs), content, { mode });
        fs.chmodSync(this.p(abs), mode);
    }

    /** Lines of the stand-in's call log. */
    calls(): string[] {
        const f = path.join(this.dir, "standin", "calls.log");
        return fs.existsSync(f)
            ? fs
                  .readFileSync(f, "utf8")
                  .split("\n")
                  .filter((l) => l !== "")
            : [];
    }

    restarts(): number {
        return this.calls().filter((l) => /^systemctl restart /.test(l)).length;
    }

    /** The environment containerd currently runs with (from /proc). */
    containerdEnv(): Record<string, string> {
        const pid = fs.readFileSync(path.join(this.dir, "standin", "containerd.pid"), "utf8").trim();
        const env: Record<string, string> = {};
        for (const kv of fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
            const i = kv.indexOf("=");
            if (i > 0) {
                env[kv.slice(0, i)] = kv.slice(i + 1);
            }
        }
        return env;
    }

    /** Lists every file under `abs` (relative paths with content), for before/after comparisons. */
    snapshot(abs: string): Record<string, string> {
        const out: Record<string, string> = {};
        const walk = (d: string): void => {
            if (!fs.existsSync(this.p(d))) {
                return;
            }
            for (const e of fs.readdirSync(this.p(d), { withFileTypes: true })) {
                const full = `${d}/${e.name}`;
                if (e.isDirectory()) {
                    out[`${full}/`] = "dir";
                    walk(full);
                } else {
                    const st = fs.statSync(this.p(full));
                    out[full] = `${(st.mode & 0o7777).toString(8)} ${fs.readFileSync(this.p(full), "base64")}`;
                }
            }
        };
        walk(abs);
        return out;
    }

    /** Stops containerd and the namespace holder, removes the temp dir. Safe to call twice. */
    close(): void {
        const pidFile = path.join(this.dir, "standin", "containerd.pid");
        try {
            const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
            if (pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "containerd") {
                process.kill(pid, "SIGKILL");
            }
        } catch {
            // not running
        }
        try {
            process.kill(this.holderPid, "SIGKILL");
        } catch {
            // already gone
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
