/** Real starting states x both modes against real containerd (see startingStates.ts): other layouts. */
import { describeStartingStates, GENERATED } from "./startingStates";

describeStartingStates("other layouts", (name) => !GENERATED.includes(name), {
    name: "the other fixtures: hand-made layouts containerd 1.6 reads",
    fn: (all, mine) => expect(mine.length).toBe(all.length - GENERATED.length),
});
