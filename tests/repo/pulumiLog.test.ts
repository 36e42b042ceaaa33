/**
 * The Pulumi log collector (tests/helpers/pulumiLogEnvironment.js): a passing file prints none of
 * Pulumi's log lines, a failing test prints all of its file's. Runs Jest itself on two fixtures.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

function runJest(fixture: string): { status: number | null; output: string } {
    const config = {
        rootDir: ROOT,
        roots: ["<rootDir>/tests/fixtures/pulumiLog"],
        testMatch: [`**/${fixture}`],
        testEnvironment: "<rootDir>/tests/helpers/pulumiLogEnvironment.js",
        testEnvironmentOptions: { globalsCleanup: "off" },
        transform: {},
    };
    const r = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--config", JSON.stringify(config)], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, FORCE_COLOR: "0", CI: "true" },
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("Pulumi log in tests", () => {
    test("a passing file prints none of Pulumi's log lines, and the test could read them", () => {
        const r = runJest("quiet.fixture.js");
        expect(r.output).toContain("1 passed");
        expect(r.status).toBe(0);
        expect(r.output).not.toContain("QUIET-MARKER");
    }, 60000);

    test("a failing test prints every Pulumi log line of its file, with the test it came from", () => {
        const r = runJest("failing.fixture.js");
        expect(r.status).toBe(1);
        expect(r.output).toContain("warning: FAIL-MARKER-BEFOREALL");
        expect(r.output).toContain("warning: FAIL-MARKER-EARLIER   (during: passes)");
        expect(r.output).toContain("error: FAIL-MARKER-ERROR   (during: fails)");
        expect(r.output).toContain("OTHER-MARKER");
        expect(r.output).toContain('printed because "fails" failed');
    }, 60000);
});
