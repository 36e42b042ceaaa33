/**
 * Node runtime configuration figures:
 * - program evaluation time of NodeFleet under Pulumi's mock engine for 1, 100 and 1,000 nodes;
 * - for one node (real script, real containerd 1.6, as root in a private mount namespace):
 *   first apply time, no-op rerun time and the restarts the rerun caused;
 * - the rollout of 10 sandboxed nodes (real scripts, a real containerd each), one of them slow
 *   (its restart takes SLOW_SECONDS longer), ordered as NodeFleet orders them: the old batches
 *   of maxParallel and the sliding window (node i after node i - maxParallel).
 *
 * Run: npx ts-node --transpile-only bench/nodes.ts
 */
import * as pulumi from "@pulumi/pulumi";

import { recordResources } from "../tests/helpers/mockEngine";

// The tests' mock engine, in a preview; the components are loaded after it, as Pulumi requires.
recordResources({ preview: true, stack: "bench" });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NodeFleet } = require("../components/nodeFleet") as typeof import("../components/nodeFleet");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseNodeConfig } = require("../lib/node/config") as typeof import("../lib/node/config");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { remoteCommand } = require("../lib/remote/shell") as typeof import("../lib/remote/shell");

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAbench\n-----END OPENSSH PRIVATE KEY-----\n";
/** One pinned host key for every node: an unpinned node would print a warning each. */
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN96xfhu3vfNpMPExwYcEMz87P7yevU99qU2XHbCQF/J";

async function evaluate(n: number, round: number): Promise<number> {
    const start = process.hrtime.bigint();
    const config = parseNodeConfig({
        nodes: Array.from({ length: n }, (_, i) => ({
            host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            name: `n${i}`,
            hostKey: HOST_KEY,
        })),
        ssh: { privateKey: KEY },
        registries: ["swr.cn-north-4.myhuaweicloud.com"],
        clusterCidrs: ["10.247.0.0/16", "172.16.0.0/16"],
    });
    const fleet = new NodeFleet(`fleet${round}`, { config, endpoint: pulumi.output("http://192.168.0.177:4001") });
    await new Promise<void>((resolve) =>
        pulumi
            .all([fleet.configuredNodes, pulumi.all([...fleet.nodes.values()].map(({ runtime }) => runtime.summary))])
            .apply(() => resolve()),
    );
    return Number(process.hrtime.bigint() - start) / 1e6;
}

async function realNode(): Promise<void> {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        console.log("one node, real containerd: SKIPPED (needs root)");
        return;
    }
    const { nodeWith, SANDBOX_IMAGE_ONLY } =
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require("../tests/node/nodeHelpers") as typeof import("../tests/node/nodeHelpers");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { applyScript } = require("../lib/node/scripts") as typeof import("../lib/node/scripts");
    const boxes: import("../tests/node/sandbox").NodeSandbox[] = [];
    try {
        const box = await nodeWith(boxes, SANDBOX_IMAGE_ONLY);
        const cmd = remoteCommand(
            applyScript({
                runtime: "containerd",
                mode: "proxy",
                endpoint: "http://192.168.0.177:4001",
                registries: ["swr.cn-north-4.myhuaweicloud.com"],
                allRegistries: false,
                noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc"],
            }),
            { sudo: false },
        );
        let t = Date.now();
        const first = box.sh(cmd);
        const firstMs = Date.now() - t;
        const restartsAfterFirst = box.restarts();
        const times: number[] = [];
        let last = "";
        for (let i = 0; i < 5; i++) {
            t = Date.now();
            last = box.sh(cmd).stdout.trim();
            times.push(Date.now() - t);
        }
        times.sort((a, b) => a - b);
        console.log(`one node, first apply: ${firstMs} ms (${first.stdout.trim()})`);
        console.log(`one node, no-op rerun: median ${times[2]} ms over 5 runs (${last})`);
        console.log(`one node, restarts caused by the 5 reruns: ${box.restarts() - restartsAfterFirst}`);
    } finally {
        boxes.forEach((b) => b.close());
    }
}

/** The extra restart time of the slow node, and the fleet of the rollout figure. */
const SLOW_SECONDS = 3;
const FLEET_SIZE = 10;
const FLEET_MAX_PARALLEL = 3;
const SLOW_NODE = 1;

/** Batches: every node of a batch waits for every node of the previous one. */
function batchPredecessors(count: number, size: number): number[][] {
    return Array.from({ length: count }, (_, i) => {
        const start = Math.floor(i / size) * size - size;
        return start < 0 ? [] : Array.from({ length: size }, (_, k) => start + k);
    });
}

async function rollout(): Promise<void> {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        console.log("rollout of 10 nodes: SKIPPED (needs root)");
        return;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { nodeWith } = require("../tests/node/nodeHelpers") as typeof import("../tests/node/nodeHelpers");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const scripts = require("../lib/node/scripts") as typeof import("../lib/node/scripts");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { windowPredecessors } = require("../components/nodeFleet") as typeof import("../components/nodeFleet");
    const apply = remoteCommand(
        scripts.applyScript({
            runtime: "containerd",
            mode: "proxy",
            endpoint: "http://192.168.0.177:4001",
            registries: ["swr.cn-north-4.myhuaweicloud.com"],
            allRegistries: false,
            noProxy: ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc"],
        }),
        { sudo: false },
    );
    const restore = remoteCommand(scripts.restoreScript({ runtime: "containerd" }), { sudo: false });
    const boxes: import("../tests/node/sandbox").NodeSandbox[] = [];
    try {
        for (let i = 0; i < FLEET_SIZE; i++) {
            await nodeWith(boxes, "version = 2\n");
        }
        const env = (i: number): Record<string, string> =>
            i === SLOW_NODE ? { STANDIN_SLOW_RESTART: String(SLOW_SECONDS) } : {};
        /** Runs the apply on every node, each once its predecessors are done, as the engine would. */
        const run = async (before: number[][]): Promise<number> => {
            const start = Date.now();
            const done: Promise<void>[] = [];
            for (let i = 0; i < FLEET_SIZE; i++) {
                done.push(
                    Promise.all(before[i].map((j) => done[j])).then(async () => {
                        const r = await boxes[i].shAsync(apply, { env: env(i) });
                        if (r.code !== 0) {
                            throw new Error(`node ${i}: ${r.stderr}`);
                        }
                    }),
                );
            }
            await Promise.all(done);
            const ms = Date.now() - start;
            await Promise.all(boxes.map((b) => b.shAsync(restore)));
            return ms;
        };
        const batch = await run(batchPredecessors(FLEET_SIZE, FLEET_MAX_PARALLEL));
        const lanes = await run(windowPredecessors(FLEET_SIZE, FLEET_MAX_PARALLEL).map((j) => (j < 0 ? [] : [j])));
        console.log(
            `rollout of ${FLEET_SIZE} nodes, maxParallel ${FLEET_MAX_PARALLEL}, node ${SLOW_NODE} restarting ${SLOW_SECONDS} s slower: ` +
                `batches ${(batch / 1000).toFixed(1)} s, sliding window ${(lanes / 1000).toFixed(1)} s`,
        );
    } finally {
        for (const b of boxes) {
            b.close();
        }
    }
}

async function main(): Promise<void> {
    await evaluate(1, 0); // warm-up
    let round = 1;
    for (const n of [1, 100, 1000]) {
        const ms = await evaluate(n, round++);
        console.log(`mock engine, ${n} node(s): program evaluation ${ms.toFixed(0)} ms`);
    }
    await realNode();
    await rollout();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
