// ESLint flat config: typescript-eslint's recommended rules, syntax-only (no type information,
// so it stays fast; `tsc --noEmit` in `npm run lint` is the type check). Formatting is
// Prettier's job (`prettier --check .`), so no stylistic rules here.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** Node's CommonJS globals, for the few plain .js files (jest config, reporters, stand-ins). */
const nodeCommonJsGlobals = {
    require: "readonly",
    module: "writable",
    exports: "writable",
    __dirname: "readonly",
    __filename: "readonly",
    process: "readonly",
    console: "readonly",
    Buffer: "readonly",
    setTimeout: "readonly",
    clearTimeout: "readonly",
    setInterval: "readonly",
    clearInterval: "readonly",
    URL: "readonly",
};

export default defineConfig(
    {
        ignores: ["node_modules/", "bin/", "coverage/", "render/", "**/*.d.ts"],
    },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            // `_`-prefixed names are deliberately unused (callback signatures, destructuring).
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
            ],
        },
    },
    {
        // Tests and their helpers handle engine payloads and parsed documents of no fixed shape,
        // and load modules fresh with `require` inside `jest.isolateModules`.
        files: ["tests/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
        },
    },
    {
        files: ["**/*.js", "**/*.cjs"],
        languageOptions: { sourceType: "commonjs", globals: nodeCommonJsGlobals },
        rules: {
            "@typescript-eslint/no-require-imports": "off",
        },
    },
);
