/** Jest runs TypeScript through ts-jest in transpile-only mode; `tsc --noEmit` (run first by
 * `npm test`) is the type check, so each test file is not type-checked twice.
 * The environment is Node's plus a collector of Pulumi's log output (tests/helpers/pulumiLog.ts):
 * a green run prints no Pulumi warnings; a failing test prints the ones of its file. */
const privileged = process.getuid?.() === 0 && process.env.DRAGONFLY_CCE_TESTS !== "unit";

module.exports = {
    // As root the privileged suites run, and the kubelet worlds they start (tests/real, tests/agent)
    // use machine-wide names (iptables chains, the device-plugin socket) and compare the machine's
    // state before and after: one test file at a time, as Jest already does on a two-core machine.
    // `npm run test:unit` (no privileged suite) keeps one worker per core.
    ...(privileged ? { maxWorkers: 1 } : {}),
    testEnvironment: "<rootDir>/tests/helpers/pulumiLogEnvironment.js",
    // Pulumi's runtime keeps module state on globals that outlive a test file; Jest's default
    // "soft" clean-up then prints a deprecation notice per file. Keep Jest 29's behaviour.
    testEnvironmentOptions: { globalsCleanup: "off" },
    // Jest's runtime, keeping V8's code cache of the modules a worker compiles (tests/helpers/jestRuntime.js).
    runtime: "<rootDir>/tests/helpers/jestRuntime.js",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    transform: {
        "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json", diagnostics: false }],
    },
    testTimeout: 30000,
    reporters: ["default", "<rootDir>/tests/helpers/summaryReporter.js"],
};
