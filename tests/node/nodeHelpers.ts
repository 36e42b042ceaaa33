/**
 * What the real-containerd node suites (and bench/nodes.ts) share: running the scripts in a
 * sandbox, starting its containerd, reading the result. Every suite starts containerd and reads
 * its configuration through these.
 */
import { spawnSync } from "child_process";
import { parse } from "smol-toml";
import { applyScript, NodeScriptSpec, restoreScript } from "../../lib/node/scripts";
import { remoteCommand } from "../../lib/remote/shell";
import { RunResult } from "../helpers/world/exec";
import { NodeSandbox } from "./sandbox";

export const SWR = "swr.cn-north-4.myhuaweicloud.com";
export const LOCAL_REG = "registry.local:5000";
export const CONFIG = "/etc/containerd/config.toml";
export const DROPIN = "/etc/systemd/system/containerd.service.d/http-proxy.conf";
export const CRI = "io.containerd.grpc.v1.cri";
export const ENDPOINT = "http://192.168.0.177:4001";
/** A version 2 config.toml that sets only the CRI plugin's sandbox image (a CCE node's minimum). */
export const SANDBOX_IMAGE_ONLY = `version = 2

[plugins]
  [plugins."${CRI}"]
    sandbox_image = "cce-pause:3.1"
`;

export function spec(overrides: Partial<NodeScriptSpec> = {}): NodeScriptSpec {
    return {
        runtime: "containerd",
        mode: "proxy",
        endpoint: ENDPOINT,
        registries: [SWR, LOCAL_REG],
        allRegistries: false,
        noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc", "10.247.0.0/16"],
        ...overrides,
    };
}

export function apply(
    box: NodeSandbox,
    s: NodeScriptSpec,
    opts: { input?: string; env?: Record<string, string> } = {},
): RunResult {
    return box.sh(remoteCommand(applyScript(s), { sudo: false }), opts);
}

export function restore(
    box: NodeSandbox,
    s: Pick<NodeScriptSpec, "runtime">,
    opts: { env?: Record<string, string> } = {},
): RunResult {
    return box.sh(remoteCommand(restoreScript(s), { sudo: false }), opts);
}

export function ok(r: RunResult): string {
    if (r.code !== 0) {
        throw new Error(`script failed (${r.code}): ${r.stderr}`);
    }
    return r.stdout;
}

/**
 * (Re)starts the sandbox's containerd as an operator does after editing its files: the unit and
 * its drop-ins read again (`systemctl daemon-reload`), then `systemctl restart containerd`.
 */
export function restartContainerd(box: NodeSandbox): void {
    ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
}

/** The config containerd really loads from CONFIG, as `containerd config dump` prints it. */
export function dump(box: NodeSandbox): Record<string, any> {
    const r = box.sh(`containerd --config ${CONFIG} config dump`);
    if (r.code !== 0) {
        throw new Error(`config dump failed: ${r.stderr}`);
    }
    return parse(r.stdout) as Record<string, any>;
}

/** What this machine's containerd writes as its default config.toml (`containerd config default`). */
export function defaultConfig(): string {
    const r = spawnSync("containerd", ["config", "default"], { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`containerd config default failed: ${r.stderr}`);
    }
    return r.stdout;
}

/** The status of the running containerd's CRI plugin (`ok` when healthy). */
export function criStatus(box: NodeSandbox): string {
    const r = box.sh("ctr plugins ls");
    const line = r.stdout.split("\n").find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
    return line ? line.trim().split(/\s+/).pop()! : `no CRI plugin (${r.stderr})`;
}

/** The whole managed state: /etc files the scripts may touch, and /var/lib/dragonfly-cce. */
export function state(box: NodeSandbox): Record<string, string> {
    return {
        ...box.snapshot("/etc/containerd"),
        ...box.snapshot("/etc/systemd/system"),
        ...box.snapshot("/etc/docker"),
        ...box.snapshot("/var/lib/dragonfly-cce"),
    };
}

/** A sandbox whose containerd already runs with `config` (a node before we arrive). */
export async function nodeWith(boxes: NodeSandbox[], config?: string): Promise<NodeSandbox> {
    const box = await NodeSandbox.create();
    boxes.push(box);
    if (config !== undefined) {
        box.write(CONFIG, config);
    }
    restartContainerd(box);
    return box;
}
