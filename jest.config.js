/** Jest runs TypeScript through ts-jest in transpile-only mode; `tsc --noEmit` (run first by
 * `npm test`) is the type check, so each test file is not type-checked twice. */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    transform: {
        "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json", diagnostics: false }],
    },
    testTimeout: 30000,
    reporters: ["default", "<rootDir>/tests/helpers/summaryReporter.js"],
};
