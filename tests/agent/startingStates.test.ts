/**
 * The SSH path's starting-state matrix (tests/node/startingStates.ts: every fixture, proxy and
 * mirror, apply, rerun, restore byte for byte, switch both ways) through the agent path: the
 * matrix itself runs unchanged; its node is a sandbox node of the agent's world and its
 * `apply`/`restore` run the agent's entrypoint in a container on it (tests/agent/agentBox.ts).
 */
import { mkdtempSync, rmSync } from "fs";
import { join } from "path";

import type { NodeScriptSpec } from "../../lib/node";
import { buildStandinImages } from "../helpers/world/images";
import { createNetwork, destroyNamespaces, removeStaleNamespaces } from "../helpers/world/netns";
import { describeStartingStates, fixtures } from "../node/startingStates";
import { AgentBox } from "./agentBox";
import { AgentControlPlane, createAgentObjects } from "./agentWorld";

jest.mock("../node/nodeHelpers", () => {
    const actual = jest.requireActual("../node/nodeHelpers");
    const { AgentBox: Box } = jest.requireActual("./agentBox");
    return {
        ...actual,
        nodeWith: async (boxes: unknown[], config?: string) => {
            const box = await Box.create();
            boxes.push(box);
            if (config !== undefined) {
                box.write(actual.CONFIG, config);
            }
            actual.ok(box.sh("systemctl restart containerd"));
            return box;
        },
        apply: (box: AgentBox, s: NodeScriptSpec) => box.apply(s),
        restore: (box: AgentBox) => box.restore(),
    };
});

const FIXTURES = fixtures().length;

describe("the starting-state matrix through the agent path", () => {
    let dir = "";
    const namespaces: string[] = [];
    let cp: AgentControlPlane | undefined;

    beforeAll(async () => {
        if (process.getuid?.() !== 0 || process.env.DRAGONFLY_CCE_TESTS === "unit") {
            return; // describePrivileged (inside describeStartingStates) skips or fails the suite.
        }
        dir = mkdtempSync("/var/tmp/dfcce-agent-states-");
        removeStaleNamespaces();
        const archive = await buildStandinImages({ dir: join(dir, "images") });
        const spec: Record<string, number[]> = {};
        for (let i = 0; i < FIXTURES; i++) {
            spec[`s${i}`] = [40 + i];
        }
        const net = await createNetwork(process.pid, spec, namespaces);
        cp = new AgentControlPlane({
            netns: net.hub.netns,
            dir: join(dir, "control-plane"),
            loadBalancerAddress: "198.18.0.2",
        });
        await cp.start();
        AgentBox.world = {
            cp,
            token: await createAgentObjects(cp),
            archive,
            hubNetns: net.hub.netns,
            nodeNetns: Object.keys(spec).map((r) => net.hosts[r].netns),
            dir,
            credentials: "puller:s3cret\n",
        };
    }, 600_000);

    afterAll(async () => {
        const left = (await Promise.all(AgentBox.stopping)).flat();
        cp?.stop();
        destroyNamespaces(namespaces);
        if (dir !== "") {
            rmSync(dir, { recursive: true, force: true });
        }
        expect(left).toEqual([]);
    }, 300_000);

    describeStartingStates("through the node agent", () => true, {
        name: "every fixture of the SSH path's matrix runs through the agent",
        fn: (all, mine) => {
            expect(mine.map(([name]) => name)).toEqual(all.map(([name]) => name));
            expect(mine.length).toBe(FIXTURES);
        },
    });
});
