/**
 * The SSH path's starting-state matrix (tests/node/startingStates.ts: every fixture, proxy and
 * mirror, apply, rerun, restore byte for byte, switch both ways) through the agent path: the
 * matrix itself runs unchanged; its node is a sandbox node of the agent's world and its
 * `apply`/`restore` run the agent's entrypoint in a container on it (tests/agent/agentBox.ts).
 * Also the node configured by hand with the seed document's steps (the SSH path's case is in
 * tests/node/handEditsAndInterruptions.test.ts).
 */
import { mkdtempSync, rmSync } from "fs";
import { join } from "path";

import type { NodeScriptSpec } from "../../lib/node";
import { buildStandinImages } from "../helpers/world/images";
import { createNetwork, destroyNamespaces, removeStaleNamespaces } from "../helpers/world/netns";
import { describePrivileged } from "../helpers/privileged";
import { CONFIG, CRI, DROPIN, ENDPOINT, nodeWith, ok, SANDBOX_IMAGE_ONLY, spec, state, SWR } from "../node/nodeHelpers";
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
        // One node per fixture, and one for the hand-configured node.
        for (let i = 0; i < FIXTURES + 1; i++) {
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

    describePrivileged(
        "a hand-configured node through the node agent (root)",
        { root: true, commands: ["containerd", "ctr", "unshare", "nsenter"] },
        () => {
            const boxes: AgentBox[] = [];
            afterAll(() => boxes.forEach((b) => b.close()));

            // tests/node/handEditsAndInterruptions.test.ts holds the SSH path's case (with Docker,
            // which the agent does not configure).
            test("a node configured by hand with the seed document's steps: the agent adopts them, a rerun changes nothing, restore gives back the bytes", async () => {
                const seeded = `${SANDBOX_IMAGE_ONLY}    [plugins."${CRI}".registry]\n      [plugins."${CRI}".registry.configs."${SWR}".tls]\n        insecure_skip_verify = true\n`;
                const box = (await nodeWith(boxes as never[], seeded)) as unknown as AgentBox;
                box.write(DROPIN, `[Service]\nEnvironment="HTTP_PROXY=${ENDPOINT}" "HTTPS_PROXY=${ENDPOINT}/"\n`);
                ok(box.sh("systemctl daemon-reload && systemctl restart containerd"));
                expect(box.containerdEnv().HTTPS_PROXY).toBe(`${ENDPOINT}/`);
                const before = state(box as never);
                const restarts = box.restarts();
                const r = box.apply(spec());
                expect(ok(r)).toMatch(/, restarted=yes\n$/);
                expect(r.stderr).toBe("");
                expect(box.restarts()).toBe(restarts + 1);
                // The registry's TLS table is adopted, not duplicated; the hand drop-in gives way to ours.
                expect(box.read(CONFIG).split(`configs."${SWR}".tls]`)).toHaveLength(2);
                expect(box.containerdEnv().HTTPS_PROXY).toBe(ENDPOINT);
                expect(ok(box.apply(spec()))).toBe("dragonfly-cce: changed=-, restarted=no\n");
                expect(box.restarts()).toBe(restarts + 1);
                ok(box.restore());
                expect(state(box as never)).toEqual(before);
                expect(box.containerdEnv().HTTPS_PROXY).toBe(`${ENDPOINT}/`);
            }, 300_000);
        },
    );
});
