/**
 * Pull-path figures on the real containerd of the test world (tests/helpers/world), as root:
 *
 *   npx ts-node --transpile-only bench/pull.ts [pulls per case, default 5]
 *
 * - CRI pull time of a small image, direct vs through the Dragonfly client stand-in, in the same
 *   run and on the same containerd (proxy mode; the direct pulls use a registry address listed in
 *   NO_PROXY), for the HTTP registry and the HTTPS registry (CONNECT intercepted): median and ratio.
 * - The node script's no-op rerun (apply again with the same spec, over SSH): wall time and the
 *   number of containerd restarts it caused.
 *
 * The stand-in is a Node.js forwarder, not Dragonfly: the ratio measures the cost of the extra
 * hop and of TLS interception for tiny images, not peer-to-peer gains.
 */
import { performance } from "perf_hooks";
import { applyScript, NodeScriptSpec } from "../lib/node/scripts";
import { remoteCommand } from "../lib/remote/shell";
import { ADDR, HTTP_PORT, HTTPS_PORT, World } from "../tests/helpers/world/world";

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function ms(x: number): string {
    return `${x.toFixed(1)} ms`;
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) {
        throw new Error("bench/pull.ts needs root (network namespaces, containerd)");
    }
    const n = Number(process.argv[2] ?? 5);
    const world = new World();
    const t0 = performance.now();
    try {
        const base =
            world.configHead() +
            `\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${ADDR.reg}:${HTTP_PORT}"]\n` +
            `  endpoint = ["http://${ADDR.reg}:${HTTP_PORT}"]\n` +
            `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${ADDR.regAlias}:${HTTP_PORT}"]\n` +
            `  endpoint = ["http://${ADDR.regAlias}:${HTTP_PORT}"]\n`;
        await world.start(base);
        const startMs = performance.now() - t0;
        const spec: NodeScriptSpec = {
            runtime: "containerd",
            mode: "proxy",
            endpoint: world.standin.endpoint,
            registries: [`${ADDR.reg}:${HTTP_PORT}`, `${ADDR.reg}:${HTTPS_PORT}`],
            allRegistries: false,
            noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc", ADDR.regAlias],
        };
        const applyCmd = remoteCommand(applyScript(spec), { sudo: false });
        const first = await world.node.ssh("root", applyCmd);
        if (!/restarted=yes/.test(first.stdout)) {
            throw new Error(`the first apply did not configure the node: ${first.stdout}${first.stderr}`);
        }

        const rows: string[] = [];
        for (const kind of ["http", "https"] as const) {
            const direct: number[] = [];
            const through: number[] = [];
            for (let i = 0; i < n; i++) {
                // Interleaved, so that both paths see the same machine load.
                for (const [host, into] of [
                    [ADDR.regAlias, direct],
                    [ADDR.reg, through],
                ] as const) {
                    const p = await world.push(kind, `bench-${kind}`, host);
                    const mark = world.standin.mark();
                    const t = performance.now();
                    await world.cri.pull(p.ref);
                    into.push(performance.now() - t);
                    const proxied = world.standin.since(mark).length > 0;
                    if (proxied !== (host === ADDR.reg)) {
                        throw new Error(`${p.ref}: expected ${host === ADDR.reg ? "a proxied" : "a direct"} pull`);
                    }
                }
            }
            const d = median(direct);
            const s = median(through);
            rows.push(
                `${kind.toUpperCase().padEnd(5)}  direct ${ms(d).padStart(9)}  through stand-in ${ms(s).padStart(9)}  ratio ${(s / d).toFixed(2)}x` +
                    `  (median of ${n}; direct ${direct.map((x) => x.toFixed(0)).join("/")} ms, through ${through.map((x) => x.toFixed(0)).join("/")} ms)`,
            );
        }

        const reruns: number[] = [];
        const startsBefore = world.node.containerdStarts();
        const summaries = new Set<string>();
        for (let i = 0; i < 3; i++) {
            const t = performance.now();
            const r = await world.node.ssh("root", applyCmd);
            reruns.push(performance.now() - t);
            summaries.add(r.stdout.trim().split("\n").pop() ?? "");
        }
        const restarts = world.node.containerdStarts() - startsBefore;

        console.log(`pull path on Debian containerd (${process.arch}), world start ${ms(startMs)}`);
        console.log("CRI PullImage of a 1-layer image (~200 bytes), same containerd, proxy mode:");
        for (const r of rows) {
            console.log(`  ${r}`);
        }
        console.log(
            `node script no-op rerun over SSH (as root): median ${ms(median(reruns))} ` +
                `(${reruns.map((x) => x.toFixed(0)).join("/")} ms), containerd restarts: ${restarts}, ` +
                `summary: ${[...summaries].join(" | ")}`,
        );
    } finally {
        const left = world.destroy();
        console.log(
            `total ${ms(performance.now() - t0)}; teardown left ${left.length === 0 ? "nothing" : left.join(", ")}`,
        );
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
