// Jest test environment: Node's, plus a collector for Pulumi's log output.
//
// Under the mock engine `pulumi.log.info/warn/error` print through the console
// ("warning: [runtime] ..."), and Jest prints each with a code frame: hundreds of lines on a
// green run. This environment routes those lines into `globalThis.__pulumiLog` instead
// (tests/helpers/pulumiLog.ts reads it, so a test can assert the warnings it expects) and prints
// nothing else of them. When a test or hook fails, every Pulumi log line collected in that file
// so far is printed after all, in one block, so a failure still shows everything.
//
// It also formats Pulumi's own promise stack traces plainly: `debuggablePromise` records
// `new Error().stack` for every promise the SDK makes (printed only under
// PULUMI_DEBUG_PROMISE_LEAKS), and under Jest each of those went through source mapping, about a
// sixth of `npm run test:unit`'s CPU time. Every other stack is formatted by Jest as before.
const path = require("path");
const { TestEnvironment } = require("jest-environment-node");

/** The SDK file whose `new Error()` records a promise's origin. */
const DEBUGGABLE = path.join("@pulumi", "pulumi", "runtime", "debuggable.js");

/** The prefixes `@pulumi/pulumi/log` uses when no engine is connected (the mock engine). */
const PULUMI_LINE = /^(debug|info|warning|error): \[runtime\] /;
const METHODS = ["log", "info", "warn", "error", "debug"];

class PulumiLogEnvironment extends TestEnvironment {
    constructor(config, context) {
        super(config, context);
        this.printed = 0;
        this.currentTest = undefined;
    }

    async setup() {
        await super.setup();
        plainPulumiPromiseTraces(this.global);
        const entries = [];
        this.global.__pulumiLog = entries;
        const console = this.global.console;
        this.original = {};
        for (const method of METHODS) {
            const original = console[method].bind(console);
            this.original[method] = original;
            console[method] = (first, ...rest) => {
                const m = typeof first === "string" ? PULUMI_LINE.exec(first) : null;
                if (m === null) {
                    original(first, ...rest);
                    return;
                }
                entries.push({
                    level: m[1],
                    message: first.slice(m[0].length),
                    test: this.currentTest,
                });
            };
        }
    }

    /** Prints the entries collected since the last flush (a failure shows them all). */
    flush(why) {
        const entries = this.global.__pulumiLog ?? [];
        const fresh = entries.slice(this.printed);
        this.printed = entries.length;
        if (fresh.length === 0) {
            return;
        }
        const lines = fresh.map((e) => `${e.level}: ${e.message}${e.test ? `   (during: ${e.test})` : ""}`);
        this.original.warn(`Pulumi log collected in this file, printed because ${why}:\n${lines.join("\n")}`);
    }

    async handleTestEvent(event) {
        if (event.name === "test_start") {
            this.currentTest = fullName(event.test);
        } else if (event.name === "test_done") {
            if (event.test.errors.length > 0) {
                this.flush(`"${fullName(event.test)}" failed`);
            }
            this.currentTest = undefined;
        } else if (event.name === "hook_failure") {
            this.flush(`a ${event.hook.type} hook failed`);
        }
    }
}

/**
 * Errors made in the test's context are formatted by its `Error.prepareStackTrace` first (Node's
 * `maybeOverridePrepareStackTrace`), then by the main context's, which Jest sets to its source
 * mapper. This one answers for the SDK's promise traces and hands every other one on.
 */
function plainPulumiPromiseTraces(global) {
    // V8's own default depth (Jest raises the limit to 100 frames for test failures).
    const plain = (error, trace) => [String(error), ...trace.slice(0, 10).map((site) => `    at ${site}`)].join("\n");
    global.Error.prepareStackTrace = (error, trace) => {
        const top = trace.length > 0 ? (trace[0].getFileName() ?? "") : "";
        if (top.endsWith(DEBUGGABLE) && !process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
            return plain(error, trace);
        }
        return typeof Error.prepareStackTrace === "function"
            ? Error.prepareStackTrace(error, trace)
            : plain(error, trace);
    };
}

function fullName(test) {
    const names = [];
    for (let t = test; t && t.name !== "ROOT_DESCRIBE_BLOCK"; t = t.parent) {
        names.unshift(t.name);
    }
    return names.join(" > ");
}

module.exports = PulumiLogEnvironment;
