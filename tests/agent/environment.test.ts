/**
 * The agent's entrypoint checks the environment its DaemonSet sets before it touches anything:
 * a missing or malformed value stops it with a message that names the variable (busybox sh, as
 * the agent's image runs it; no node is entered, so no root is needed).
 */
import { spawnSync } from "child_process";
import { join } from "path";

import { AGENT_ENV } from "../../lib/agent/entrypoint";
import { describePrivileged } from "../helpers/privileged";

const AGENT = join(__dirname, "..", "..", "lib", "agent", "agent.sh");

const GOOD: Record<string, string> = {
    [AGENT_ENV.nodeName]: "node-1.example",
    [AGENT_ENV.namespace]: "dragonfly-system",
    [AGENT_ENV.daemonSet]: "dragonfly-node-agent",
    [AGENT_ENV.statusConfigMap]: "dragonfly-node-agent-status",
    [AGENT_ENV.resyncSeconds]: "600",
    KUBERNETES_SERVICE_HOST: "10.247.0.1",
    KUBERNETES_SERVICE_PORT: "443",
};

function runAgent(env: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string } {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const busybox = spawnSync("sh", ["-c", "command -v busybox"], { encoding: "utf8" }).stdout.trim();
    const r = spawnSync(busybox, ["sh", AGENT], {
        env: { PATH: "/nonexistent", ...clean },
        encoding: "utf8",
        timeout: 10_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describePrivileged(
    "the agent's entrypoint refuses a bad environment, naming the variable",
    { commands: ["busybox"] },
    () => {
        const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
            ["no NODE_NAME", { [AGENT_ENV.nodeName]: undefined }, /NODE_NAME must be a Kubernetes object name, got ''/],
            [
                "a NODE_NAME that is no object name",
                { [AGENT_ENV.nodeName]: 'node"1' },
                /NODE_NAME must be a Kubernetes object name, got 'node"1'/,
            ],
            [
                "no POD_NAMESPACE",
                { [AGENT_ENV.namespace]: undefined },
                /POD_NAMESPACE must be a Kubernetes object name/,
            ],
            [
                "an AGENT_DAEMONSET with a slash",
                { [AGENT_ENV.daemonSet]: "a/b" },
                /AGENT_DAEMONSET must be a Kubernetes object name, got 'a\/b'/,
            ],
            [
                "an upper-case AGENT_STATUS_CONFIGMAP",
                { [AGENT_ENV.statusConfigMap]: "Status" },
                /AGENT_STATUS_CONFIGMAP must be a Kubernetes object name, got 'Status'/,
            ],
            [
                "RESYNC_SECONDS 0",
                { [AGENT_ENV.resyncSeconds]: "0" },
                /RESYNC_SECONDS must be a whole number of seconds above 0/,
            ],
            [
                "RESYNC_SECONDS 10m",
                { [AGENT_ENV.resyncSeconds]: "10m" },
                /RESYNC_SECONDS must be a whole number of seconds above 0/,
            ],
            [
                "no KUBERNETES_SERVICE_HOST",
                { KUBERNETES_SERVICE_HOST: undefined },
                /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/,
            ],
        ];
        test.each(cases)("%s: exit 1, the message on stderr, nothing started", (_name, change, message) => {
            const r = runAgent({ ...GOOD, ...change });
            expect(r.status).toBe(1);
            expect(r.stderr).toMatch(new RegExp(`^dragonfly-cce-agent: ${message.source}`));
            // It stopped before its first log line (which it prints once it starts working).
            expect(r.stdout).toBe("");
        });
    },
);
