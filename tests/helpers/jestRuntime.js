// Jest's module runtime, with V8's code cache of every module a worker compiles kept for the
// worker's life. Each test file has its own module registry, so every file compiles the Pulumi
// SDK, gRPC and protobuf again (5 s of compiling in ten suites; 0.8 s with the cache). V8 checks
// the cached data against the source and compiles afresh when it does not match, and the cache
// is only used for the very source it was made from, so a changed module never runs from a
// stale cache. jest-runtime compiles each module with `vm.compileFunction` (its only use of it
// in a worker), which this wraps.
"use strict";
const vm = require("vm");

/** By file name: the source compiled last and V8's code cache of it. */
const compiled = new Map();
const compileFunction = vm.compileFunction;

vm.compileFunction = function compileWithCache(code, params, options = {}) {
    const filename = options.filename;
    const known = filename === undefined ? undefined : compiled.get(filename);
    if (known !== undefined && known.source === code) {
        const fn = compileFunction(code, params, { ...options, cachedData: known.data });
        if (!fn.cachedDataRejected) {
            return fn;
        }
    }
    const fn = compileFunction(code, params, { ...options, produceCachedData: filename !== undefined });
    if (fn.cachedDataProduced) {
        compiled.set(filename, { source: code, data: fn.cachedData });
    }
    return fn;
};

module.exports = require("jest-runtime");
