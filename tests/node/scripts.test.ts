/** Script generation: every variant is clean under the real shellcheck; command text is safe. */
import { spawnSync } from "child_process";
import { describePrivileged } from "../helpers/privileged";
import { startEarly } from "../helpers/children";
import { run, RunResult } from "../helpers/world/exec";
import { applyScript, NodeScriptSpec, restoreScript } from "../../lib/node/scripts";
import { remoteCommand } from "../../lib/remote/shell";

const base: NodeScriptSpec = {
    runtime: "containerd",
    mode: "proxy",
    endpoint: "http://192.168.0.177:4001",
    registries: ["swr.cn-north-4.myhuaweicloud.com", "registry.local:5000"],
    allRegistries: false,
    noProxy: ["localhost", "127.0.0.1", ".svc", "10.247.0.0/16"],
};

const variants: Array<[string, NodeScriptSpec]> = [
    ["containerd proxy", base],
    ["containerd proxy with credentials", { ...base, proxyAuth: true }],
    ["containerd proxy, no registries", { ...base, registries: [] }],
    ["containerd mirror", { ...base, mode: "mirror" }],
    ["containerd mirror, all registries", { ...base, mode: "mirror", allRegistries: true }],
    ["docker proxy", { ...base, runtime: "docker" }],
    ["docker proxy with credentials", { ...base, runtime: "docker", proxyAuth: true }],
];

describePrivileged("node scripts under shellcheck", { commands: ["shellcheck", "bash"] }, () => {
    const texts: Array<[string, string]> = [];
    for (const [name, spec] of variants) {
        texts.push([`apply: ${name}`, applyScript(spec)], [`restore: ${name}`, restoreScript(spec)]);
    }
    /** shellcheck's verdict on each text, the runs started together (each test reads its own). */
    const checked = new Map<string, Promise<RunResult>>();
    beforeAll(() => {
        for (const [name, text] of texts) {
            checked.set(name, startEarly(run("shellcheck", ["-s", "bash", "-"], { input: text, allowFailure: true })));
        }
    });
    test.each(texts)("%s is clean under shellcheck", async (name, text) => {
        expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
        expect(text).toContain("\nset -euo pipefail\n");
        const r = await checked.get(name)!;
        expect(r.stdout + r.stderr).toBe("");
        expect(r.code).toBe(0);
    });

    test("remoteCommand hands bash the script text unchanged, through sudo -n for other users", () => {
        const script = applyScript(base);
        const cmd = remoteCommand(script, { sudo: false });
        // A shell that prints its -c argument instead of running it: the argument is the script.
        const echoed = spawnSync("sh", ["-c", cmd.replace(/^bash --norc --noprofile -c /, "printf %s ")], {
            encoding: "utf8",
        });
        expect(echoed.stdout).toBe(script + "dragonfly-cce");
        expect(remoteCommand(script, { sudo: true }).startsWith("sudo -n bash --norc --noprofile -c '")).toBe(true);
        expect(remoteCommand(script, { sudo: false }).startsWith("bash --norc --noprofile -c '")).toBe(true);
        // bash accepts it as a script.
        expect(spawnSync("bash", ["-n", "-c", script]).status).toBe(0);
    });
});

describe("script generation", () => {
    test("a Docker node's apply script carries the Docker edits and no containerd code", () => {
        const docker = applyScript({ ...base, runtime: "docker" });
        const containerd = applyScript(base);
        for (const fn of ["configure_containerd", "check_effective_config", "migrate_registry_tables", "plan_hosts"]) {
            expect(containerd).toContain(`\n${fn}() {`);
            expect(docker).not.toContain(`${fn}() {`);
        }
        expect(docker).toContain("\nconfigure_docker() {");
        expect(docker).toContain("\ncheck_docker_proxies() {");
        expect(docker).not.toMatch(/^AWK_TOML_\w+=/m);
    });

    test("the same spec gives the same text; another endpoint changes only the values block", () => {
        expect(applyScript(base)).toBe(applyScript({ ...base }));
        const a = applyScript(base).split("\n");
        const b = applyScript({ ...base, endpoint: "http://10.0.0.9:4001" }).split("\n");
        const diff = a.filter((l, i) => l !== b[i]);
        expect(diff).toEqual(["ENDPOINT='http://192.168.0.177:4001'"]);
        // The restore script only depends on the runtime.
        const other: NodeScriptSpec = { ...base, mode: "mirror", registries: ["x.example.com"] };
        expect(restoreScript(base)).toBe(restoreScript(other));
    });

    test("impossible specs are rejected", () => {
        expect(() => applyScript({ ...base, runtime: "docker", mode: "mirror" })).toThrow(/containerd-only/);
        expect(() => applyScript({ ...base, mode: "mirror", proxyAuth: true })).toThrow(/proxy mode/);
        expect(() => applyScript({ ...base, endpoint: "http://x'; rm -rf /" })).toThrow(/endpoint/);
        expect(() => applyScript({ ...base, registries: ["a b"] })).toThrow(/unexpected characters/);
    });
});
