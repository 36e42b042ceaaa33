/**
 * Child processes of the tests: running a TypeScript file of the repository (`node` with
 * tests/helpers/tsRegister.js: ts-node's transpile-only compile, cached on disk by content), and
 * starting several at once.
 */
import * as path from "path";

const TS_REGISTER = path.join(__dirname, "tsRegister.js");

/** The arguments after `node` (process.execPath) that run `file` with `args`. */
export function tsNodeArgs(file: string, ...args: string[]): string[] {
    return ["-r", TS_REGISTER, file, ...args];
}

/**
 * Starts work now that a test awaits later (several children then run at once): the promise is
 * marked handled, so a rejection reaches the test that awaits it and nothing else.
 */
export function startEarly<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    return p;
}
