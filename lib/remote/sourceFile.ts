/**
 * The fixed parts of the generated scripts live in real files next to the module that uses them
 * (lib/node/*.sh and *.awk, lib/console/*.sh, lib/verify/*.sh and *.awk): editors, shellcheck,
 * `awk --lint` and diffs see shell and awk, not TypeScript strings. They are read relative to the
 * module (`__dirname`), so the program works from any working directory and from a clean clone
 * (tests/repo/sourceFiles.test.ts checks that every file read is tracked by git).
 */
import { readFileSync } from "fs";
import { join } from "path";

/** Absolute paths of every source file read so far. */
export const SOURCE_FILES_READ = new Set<string>();

/**
 * The text of `dir/name`, without its leading `# shellcheck` directive lines (they serve the lint
 * of the file on its own; the generated script is checked as a whole).
 */
export function sourceFile(dir: string, name: string): string {
    const path = join(dir, name);
    SOURCE_FILES_READ.add(path);
    return readFileSync(path, "utf8").replace(/^(# shellcheck [^\n]*\n)+/, "");
}
