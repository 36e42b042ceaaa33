/** The repository's own shell scripts (set-up, deploy, CI) are clean under the real shellcheck. */
import { execFileSync } from "child_process";
import * as path from "path";

import { describePrivileged } from "./helpers/privileged";

const ROOT = path.resolve(__dirname, "..");

describePrivileged("repository shell scripts", { commands: ["shellcheck"] }, () => {
    test.each(["scripts/setup.sh", "scripts/up.sh", "scripts/lint-sources.sh", ".ci/run"])(
        "%s passes shellcheck",
        (file) => {
            // shellcheck exits non-zero with its findings on stdout; execFileSync throws with them.
            const out = execFileSync("shellcheck", ["--shell=bash", path.join(ROOT, file)], { encoding: "utf8" });
            expect(out).toBe("");
        },
    );
    test.each(["scripts/setup.sh", "scripts/up.sh", "scripts/lint-sources.sh", ".ci/run"])(
        "%s is strict (set -euo pipefail)",
        (file) => {
            const text = require("fs").readFileSync(path.join(ROOT, file), "utf8") as string;
            expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
            expect(text).toMatch(/^set -euo pipefail$/m);
        },
    );
});
