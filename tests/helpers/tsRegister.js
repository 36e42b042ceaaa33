// Loads TypeScript in the child processes the tests start (`node -r tests/helpers/tsRegister.js
// FILE.ts`: the program under the mock engine, the consumer example, the render CLI). It compiles
// each file as `ts-node --transpile-only` does (TypeScript's transpileModule with the
// repository's tsconfig.json, no type check: `tsc --noEmit` is that), and keeps the output in a
// cache directory by content, TypeScript version and tsconfig.json, so a child compiles only the
// files that changed since the last run instead of every file on every run (and does not load
// TypeScript at all when nothing changed). Stack traces show the compiled JavaScript's lines.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const TSCONFIG = path.join(ROOT, "tsconfig.json");
const CACHE = path.join(os.tmpdir(), `dragonfly-cce-ts-${typeof process.getuid === "function" ? process.getuid() : 0}`);
const SALT = [require("typescript/package.json").version, fs.readFileSync(TSCONFIG, "utf8")].join("\0");

let compile;
/** TypeScript's transpileModule with the repository's compiler options (loaded on the first miss). */
function compiler() {
    if (compile === undefined) {
        const ts = require("typescript");
        const read = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
        const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT);
        const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false };
        compile = (source, fileName) => ts.transpileModule(source, { compilerOptions, fileName }).outputText;
    }
    return compile;
}

require.extensions[".ts"] = function loadTypeScript(module, fileName) {
    const source = fs.readFileSync(fileName, "utf8");
    const key = crypto.createHash("sha256").update(SALT).update("\0").update(fileName).update("\0").update(source);
    const cached = path.join(CACHE, `${key.digest("hex")}.js`);
    let code;
    try {
        code = fs.readFileSync(cached, "utf8");
    } catch {
        code = compiler()(source, fileName);
        fs.mkdirSync(CACHE, { recursive: true, mode: 0o700 });
        const partial = `${cached}.${process.pid}`;
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, cached);
    }
    module._compile(code, fileName);
};
