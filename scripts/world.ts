/**
 * The local world's supervisor (tests/helpers/world/local.ts). `./scripts/up.sh` starts it in
 * the background and `./scripts/down.sh local` stops it; it is not meant to be run by hand.
 *
 *   ts-node scripts/world.ts DIR [NODES]
 *
 * Starts the world in DIR, writes DIR/world.json once everything answers, then waits. SIGTERM
 * or SIGINT tears the whole world down (every process by pid, then the namespaces) and exits 0;
 * a failed start tears down what was started and exits 1.
 */
import { LocalWorld } from "../tests/helpers/world/local";

async function main(): Promise<void> {
    const [dir, nodesArg] = process.argv.slice(2);
    if (dir === undefined) {
        console.error("usage: world.ts DIR [NODES]");
        process.exit(2);
    }
    const world = new LocalWorld({ dir, nodes: Number(nodesArg ?? "2") });
    const stop = (why: string, code: number): void => {
        console.log(`world: ${why}; tearing down`);
        const left = world.destroy();
        if (left.length > 0) {
            console.error(`world: namespaces left behind: ${left.join(", ")}`);
            process.exit(1);
        }
        console.log("world: down");
        process.exit(code);
    };
    process.on("SIGTERM", () => stop("SIGTERM", 0));
    process.on("SIGINT", () => stop("SIGINT", 0));
    try {
        const t0 = Date.now();
        const info = await world.start();
        console.log(`world: up in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${world.infoFile}`);
        console.log(`world: hub namespace ${info.hub}; nodes ${info.nodes.map((n) => n.host).join(", ")}`);
    } catch (e) {
        console.error(`world: start failed: ${e instanceof Error ? e.message : String(e)}`);
        stop("start failed", 1);
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
