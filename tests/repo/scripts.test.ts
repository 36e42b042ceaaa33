/** The repository's own shell scripts (set-up, deploy, CI) are clean under the real shellcheck. */
import { execFileSync } from "child_process";
import * as path from "path";

import { describePrivileged } from "../helpers/privileged";

const ROOT = path.resolve(__dirname, "../..");

const SCRIPTS = [
    "scripts/setup.sh",
    "scripts/tools.sh",
    "scripts/up.sh",
    "scripts/down.sh",
    "scripts/lint-sources.sh",
    ".ci/run",
];

describePrivileged("repository shell scripts", { commands: ["shellcheck"] }, () => {
    test.each(SCRIPTS)("%s passes shellcheck", (file) => {
        // shellcheck exits non-zero with its findings on stdout; execFileSync throws with them.
        // -x: the sourced helpers (scripts/pulumi-offline.sh, scripts/local-world.sh) are checked
        // as part of the scripts that source them.
        const out = execFileSync("shellcheck", ["--shell=bash", "-x", file], { encoding: "utf8", cwd: ROOT });
        expect(out).toBe("");
    });
    test.each(SCRIPTS)("%s is strict (set -euo pipefail)", (file) => {
        const text = require("fs").readFileSync(path.join(ROOT, file), "utf8") as string;
        expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
        expect(text).toMatch(/^set -euo pipefail$/m);
    });
});
