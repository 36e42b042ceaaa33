/**
 * The local world's supervisor (tests/helpers/world/local.ts). `./scripts/up.sh` starts it in
 * the background and `./scripts/down.sh local` stops it; it is not meant to be run by hand.
 *
 *   ts-node scripts/world.ts DIR [NODES]   starts the world in DIR, writes DIR/world.json once
 *                                          everything answers, then waits
 *   ts-node scripts/world.ts --cleanup DIR undoes what a world whose supervisor is gone left on
 *                                          the machine (down.sh runs it after ending the
 *                                          processes in the world's namespaces)
 *
 * SIGTERM or SIGINT tears the whole world down (the kubelet node, every process by pid, the
 * namespaces, what the kubelet changed on the machine), writes what is left to DIR/teardown.json
 * (an empty list: nothing) and exits 0, or 1 if something is left; a failed start tears down
 * what was started and exits 1.
 */
import { writeFileSync } from "fs";
import { join } from "path";

import { AgentNode } from "../tests/agent/agentWorld";
import { cleanupAfterSupervisor, LocalWorld } from "../tests/helpers/world/local";

function report(dir: string, left: string[]): void {
    writeFileSync(join(dir, "teardown.json"), `${JSON.stringify(left, null, 2)}\n`);
    if (left.length > 0) {
        console.error(`world: left behind:\n  ${left.join("\n  ")}`);
    }
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args[0] === "--cleanup" && args[1] !== undefined) {
        const left = cleanupAfterSupervisor(args[1]);
        report(args[1], left);
        process.exit(left.length > 0 ? 1 : 0);
    }
    const [dir, nodesArg] = args;
    if (dir === undefined) {
        console.error("usage: world.ts DIR [NODES] | world.ts --cleanup DIR");
        process.exit(2);
    }
    const world = new LocalWorld({ dir, nodes: Number(nodesArg ?? "2") });
    let stopping = false;
    const stop = async (why: string, code: number): Promise<void> => {
        if (stopping) {
            return;
        }
        stopping = true;
        console.log(`world: ${why}; tearing down`);
        const t0 = Date.now();
        const left = await world.destroy();
        report(dir, left);
        console.log(`world: down in ${((Date.now() - t0) / 1000).toFixed(1)} s${left.length > 0 ? "; NOT clean" : ""}`);
        process.exit(left.length > 0 ? 1 : code);
    };
    process.on("SIGTERM", () => void stop("SIGTERM", 0));
    process.on("SIGINT", () => void stop("SIGINT", 0));
    try {
        const t0 = Date.now();
        const info = await world.start();
        // The node agent can run on the pool's node (README: the local world): in the node's mount
        // namespace only, a systemctl that restarts the node's own containerd, and private
        // /etc/systemd/system and /tmp (tests/agent/agentWorld.ts).
        await new AgentNode(world.kubelet, join(dir, "agent-node")).prepare();
        console.log(`world: up in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${world.infoFile}`);
        console.log(`world: hub namespace ${info.hub}; nodes ${info.nodes.map((n) => n.host).join(", ")}`);
        console.log(
            `world: kubelet node ${info.kubelet.name} (${info.kubelet.host}, pool ${info.kubelet.pool}) Ready in ${info.kubelet.upSeconds.toFixed(1)} s`,
        );
    } catch (e) {
        console.error(`world: start failed: ${e instanceof Error ? e.message : String(e)}`);
        await stop("start failed", 1);
    }
    // Watch the control plane: a process that dies is reported once, in the world's log.
    const reported = new Set<string>();
    setInterval(() => {
        for (const name of world.exited()) {
            if (!reported.has(name)) {
                reported.add(name);
                console.error(`world: ${name} exited; see its log in the control-plane directory`);
            }
        }
    }, 2000);
}

void main();
