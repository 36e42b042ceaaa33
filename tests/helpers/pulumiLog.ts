/**
 * Pulumi's log output under the mock engine, as collected by tests/helpers/pulumiLogEnvironment.js
 * (Jest's test environment): a test asserts the warnings it expects here; nothing is printed
 * unless a test fails.
 */

export interface PulumiLogEntry {
    level: "debug" | "info" | "warning" | "error";
    message: string;
    /** The test that was running (undefined in beforeAll and at module load). */
    test?: string;
}

function entries(): PulumiLogEntry[] {
    const log = (globalThis as { __pulumiLog?: PulumiLogEntry[] }).__pulumiLog;
    if (log === undefined) {
        throw new Error("pulumiLog: the Jest environment tests/helpers/pulumiLogEnvironment.js is not in use");
    }
    return log;
}

/** Every Pulumi log entry of this test file so far. */
export function pulumiLog(): PulumiLogEntry[] {
    return [...entries()];
}

/** The messages of one level logged since `mark` (an index from {@link logMark}). */
export function pulumiMessages(level: PulumiLogEntry["level"], mark = 0): string[] {
    return entries()
        .slice(mark)
        .filter((e) => e.level === level)
        .map((e) => e.message);
}

/** The warnings logged since `mark`. */
export function pulumiWarnings(mark = 0): string[] {
    return pulumiMessages("warning", mark);
}

/** A position in the log: entries after it are the ones logged from now on. */
export function logMark(): number {
    return entries().length;
}
