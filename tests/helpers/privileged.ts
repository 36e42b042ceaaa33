/**
 * Gate for tests that need root and Debian packages (network namespaces, containerd, sshd, ...).
 *
 * - Everything present: the suite runs.
 * - Something missing and CI=true: the suite fails with a test that names what is missing
 *   (CI installs all of it through .ci/run, so a missing piece is a real failure).
 * - Something missing on a developer's machine: the suite is skipped, with a banner on stderr
 *   that names the suite and why, so nobody mistakes a skip for a pass.
 * - `npm run test:unit` (DRAGONFLY_CCE_TESTS=unit): suites that need root are skipped quietly,
 *   as that command promises to run only what needs no root.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";

import { toolPath } from "./tools";

export interface Needs {
    /** Needs uid 0 (mount namespaces, ip netns, starting daemons). */
    root?: boolean;
    /** Executables that must be on PATH, e.g. "containerd", "shellcheck". */
    commands?: string[];
    /** Real tools that scripts/tools.sh builds into the tools cache, e.g. "helm". */
    tools?: string[];
}

function hasCommand(cmd: string): boolean {
    try {
        execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** What is missing for `needs`, as human-readable reasons (empty when all is there). */
export function missing(needs: Needs): string[] {
    const reasons: string[] = [];
    if (needs.root && (typeof process.getuid !== "function" || process.getuid() !== 0)) {
        reasons.push("not running as root");
    }
    for (const c of needs.commands ?? []) {
        if (!hasCommand(c)) {
            reasons.push(`command not found: ${c}`);
        }
    }
    for (const t of needs.tools ?? []) {
        if (!fs.existsSync(toolPath(t))) {
            reasons.push(`tool not built: ${t} (run: bash scripts/tools.sh)`);
        }
    }
    return reasons;
}

/** `describe` for a suite that needs root and/or packages; see the module comment. */
export function describePrivileged(name: string, needs: Needs, body: () => void): void {
    if (needs.root && process.env.DRAGONFLY_CCE_TESTS === "unit") {
        describe.skip(name, body);
        return;
    }
    const reasons = missing(needs);
    if (reasons.length === 0) {
        describe(name, body);
        return;
    }
    const why = reasons.join("; ");
    if (process.env.CI === "true") {
        describe(name, () => {
            test("has its prerequisites (required under CI=true)", () => {
                throw new Error(
                    `${name}: cannot run: ${why}. .ci/run installs these packages and runs as root; ` +
                        `under CI this suite must run.`,
                );
            });
        });
        return;
    }
    process.stderr.write(
        `\n*** SKIPPED: "${name}" (${why}). Run the README's test command as root on Debian ` +
            `(it installs the packages) to run it. ***\n\n`,
    );
    describe.skip(name, body);
}
