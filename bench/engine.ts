/**
 * Real-engine figures: the Pulumi CLI and providers built by scripts/tools.sh, against the local
 * world (tests/helpers/world/local.ts: the pool's kubelet node and 2 or 10 SSH nodes):
 * - the world's start (to a Ready kubelet node) and its teardown (to a machine as it was);
 * - a new stack's `pulumi preview`, the first `pulumi up` (the release rolled out on the
 *   kubelet: Helm's wait and atomic), a no-op `pulumi up`, a `preview`, `destroy`;
 * - the runtime restarts each up caused, per node, and the remote commands a no-op up ran.
 * Goal: a no-op up restarts nothing and runs no remote command.
 *
 * Needs root and the built tools; prints SKIPPED otherwise.
 * Run: npx ts-node --transpile-only bench/engine.ts
 */
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { join } from "path";

import { LOCAL_WORLD_TOOLS, EngineProject, lastChanges, localConfig, ok } from "../tests/helpers/engine";
import { missing } from "../tests/helpers/privileged";
import { LocalWorld } from "../tests/helpers/world/local";

async function figures(nodes: number): Promise<void> {
    const dir = mkdtempSync("/var/tmp/dfcce-bench-engine-");
    const world = new LocalWorld({ dir: join(dir, "world"), nodes });
    try {
        const t0 = Date.now();
        const info = await world.start();
        const worldSeconds = (Date.now() - t0) / 1000;
        const config = localConfig({ "dragonfly-cce:rollout": { maxParallel: 5 } }, nodes);
        const project = new EngineProject({ world: info, dir, stack: "bench", config });
        ok(await project.pulumi(["stack", "init", "bench", "--secrets-provider", "passphrase"]), "stack init");
        const starts = () => world.nodes.map((n) => n.containerdStarts());
        const restarts = (before: number[]) => starts().map((s, i) => s - before[i]);
        const fmt = (r: number[]) => (r.every((x) => x === r[0]) ? `${r[0]} per node` : r.join(", "));

        // A new stack without nodes first (issue goal: under 10 s), then with the world's nodes.
        const { "dragonfly-cce:verify": _verify, ...withoutVerify } = config;
        project.writeConfig({ ...withoutVerify, "dragonfly-cce:nodes": [] });
        const empty = ok(await project.pulumi(["preview", "--stack", "bench"]), "preview without nodes");
        project.writeConfig(config);
        ok(
            await project.pulumi(
                ["config", "set", "--stack", "bench", "--secret", "--path", "dragonfly-cce:ssh.privateKey"],
                { input: readFileSync(info.sshKey, "utf8") },
            ),
            "config set",
        );
        ok(
            await project.pulumi([
                "config",
                "set",
                "--stack",
                "bench",
                "--path",
                "dragonfly-cce:ssh.knownHosts",
                info.knownHosts,
            ]),
            "config set",
        );
        const preview = ok(await project.pulumi(["preview", "--stack", "bench"]), "preview");
        let before = starts();
        const first = ok(await project.pulumi(["up", "--yes", "--stack", "bench"]), "first up");
        const firstRestarts = restarts(before);
        before = starts();
        const noop = ok(await project.pulumi(["up", "--yes", "--stack", "bench"]), "no-op up");
        const noopRestarts = restarts(before);
        const changes = await lastChanges(project, "bench");
        const changed = Object.entries(changes)
            .filter(([op]) => op !== "same")
            .map(([op, n]) => `${n} ${op}`);
        const again = ok(await project.pulumi(["preview", "--stack", "bench"]), "preview");
        const destroy = ok(await project.pulumi(["destroy", "--yes", "--stack", "bench"]), "destroy");

        const s = (x: number) => `${x.toFixed(1)} s`;
        console.log(
            `engine, ${nodes} nodes: world up ${s(worldSeconds)} (kubelet node Ready ${s(info.kubelet.upSeconds)} after its runtime started)`,
        );
        console.log(`engine, no nodes: new stack preview ${s(empty.seconds)}`);
        console.log(`engine, ${nodes} nodes: new stack preview ${s(preview.seconds)}`);
        console.log(
            `engine, ${nodes} nodes: first up ${s(first.seconds)} (release rolled out on the kubelet), restarts ${fmt(firstRestarts)}`,
        );
        console.log(
            `engine, ${nodes} nodes: no-op up ${s(noop.seconds)}, restarts ${fmt(noopRestarts)}, changes: ${changed.length === 0 ? "none" : changed.join(", ")}`,
        );
        console.log(`engine, ${nodes} nodes: preview of a deployed stack ${s(again.seconds)}`);
        console.log(`engine, ${nodes} nodes: destroy ${s(destroy.seconds)}`);
    } finally {
        const t0 = Date.now();
        const left = await world.destroy();
        console.log(
            `engine, ${nodes} nodes: world down ${((Date.now() - t0) / 1000).toFixed(1)} s, ${left.length === 0 ? "nothing left" : `left: ${left.join("; ")}`}`,
        );
        rmSync(dir, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    const why = missing({
        root: true,
        tools: LOCAL_WORLD_TOOLS,
    });
    if (why.length > 0) {
        console.log(`engine figures: SKIPPED (${why.join("; ")})`);
        return;
    }
    for (const n of [2, 10]) {
        await figures(n);
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
