/** Real starting states x both modes against real containerd (see startingStates.ts): other layouts. */
import { describePrivileged } from "../helpers/privileged";
import { NodeSandbox } from "./sandbox";
import { fixtures, GENERATED, startingState } from "./startingStates";

describePrivileged(
    "real starting states, other layouts: apply, rerun, restore, switch (root, unshare -m)",
    { root: true, commands: ["containerd", "ctr", "unshare", "nsenter", "awk"] },
    () => {
        const boxes: NodeSandbox[] = [];
        afterAll(() => {
            for (const b of boxes) {
                b.close();
            }
        });
        const all = fixtures();
        const mine = all.filter(([name]) => !GENERATED.includes(name));
        test("the other fixtures: hand-made layouts containerd 1.6 reads", () => {
            expect(mine.length).toBe(all.length - GENERATED.length);
        });
        test.each(mine)("%s", async (_name, text, extra) => {
            await startingState(boxes, text, extra);
        });
    },
);
