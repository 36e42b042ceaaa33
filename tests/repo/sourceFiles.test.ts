/**
 * The fixed parts of the generated scripts are real files read relative to their module: the
 * program works from any working directory, and from a clean clone (every file it reads is
 * tracked by git, none ignored).
 */
import { execFileSync, spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";

import { rotatePasswordScript } from "../../lib/console/rotateScript";
import { applyScript, restoreScript } from "../../lib/node/scripts";
import { verifyScript } from "../../lib/verify/script";
import { hostKeyReportScript, HOST_KEY_REPORT_PREFIX } from "../../lib/remote/hostKeys";
import { SOURCE_FILES_READ } from "../../lib/remote/sourceFile";

const ROOT = path.resolve(__dirname, "../..");

describe("script source files", () => {
    test("the host-key report script (a real .sh) prints the prefix the program reads back", () => {
        expect(hostKeyReportScript()).toContain(`printf '${HOST_KEY_REPORT_PREFIX} %s %s\\n' "$type" "$data"`);
    });

    test("every file the generators read is tracked by git (a clean clone has it)", () => {
        const files = [...SOURCE_FILES_READ].map((f) => path.relative(ROOT, f)).sort();
        expect(files).toEqual(
            expect.arrayContaining([
                "lib/console/rotate.sh",
                "lib/node/apply-paths.sh",
                "lib/node/apply.sh",
                "lib/node/common.sh",
                "lib/node/containerd-toml.awk",
                "lib/node/containerd.sh",
                "lib/node/docker-json.awk",
                "lib/node/docker.sh",
                "lib/node/files.sh",
                "lib/node/proxy-dropin.sh",
                "lib/remote/hostkey-report.sh",
                "lib/node/restore.sh",
                "lib/verify/metrics.awk",
                "lib/verify/verify.sh",
            ]),
        );
        const tracked = execFileSync("git", ["ls-files", "--", ...files], { cwd: ROOT, encoding: "utf8" })
            .trim()
            .split("\n")
            .sort();
        expect(tracked).toEqual(files);
        const ignored = spawnSync("git", ["check-ignore", "--no-index", ...files], { cwd: ROOT, encoding: "utf8" });
        expect(ignored.stdout).toBe("");
    });

    test("the generators work from another working directory (files are read relative to the module)", () => {
        const program = [
            `const { applyScript } = require(${JSON.stringify(path.join(ROOT, "lib/node/scripts"))});`,
            `process.stdout.write(applyScript({ runtime: "docker", mode: "proxy", endpoint: "http://10.0.0.5:4001",`,
            `registries: ["swr.example.com"], allRegistries: false, noProxy: ["localhost"] }));`,
        ].join("\n");
        const out = execFileSync(
            path.join(ROOT, "node_modules/.bin/ts-node"),
            ["--transpile-only", "--project", path.join(ROOT, "tsconfig.json"), "-e", program],
            {
                cwd: os.tmpdir(),
                encoding: "utf8",
            },
        );
        expect(out).toBe(
            applyScript({
                runtime: "docker",
                mode: "proxy",
                endpoint: "http://10.0.0.5:4001",
                registries: ["swr.example.com"],
                allRegistries: false,
                noProxy: ["localhost"],
            }),
        );
    });

    test("the console and verify generators work from another working directory too", () => {
        const program = [
            `const { rotatePasswordScript } = require(${JSON.stringify(path.join(ROOT, "lib/console/rotateScript"))});`,
            `const { verifyScript } = require(${JSON.stringify(path.join(ROOT, "lib/verify/script"))});`,
            `process.stdout.write(JSON.stringify([rotatePasswordScript({ consoleUrl: "http://10.0.0.5:30080" }),`,
            `verifyScript({ image: "swr.example.com/org/app:1.0", node: "n1", runtime: "containerd" })]));`,
        ].join("\n");
        const out = execFileSync(
            path.join(ROOT, "node_modules/.bin/ts-node"),
            ["--transpile-only", "--project", path.join(ROOT, "tsconfig.json"), "-e", program],
            { cwd: os.tmpdir(), encoding: "utf8" },
        );
        expect(JSON.parse(out)).toEqual([
            rotatePasswordScript({ consoleUrl: "http://10.0.0.5:30080" }),
            verifyScript({ image: "swr.example.com/org/app:1.0", node: "n1", runtime: "containerd" }),
        ]);
    });

    test("a node's apply script carries only the awk its runtime needs", () => {
        const spec = {
            mode: "proxy" as const,
            endpoint: "http://10.0.0.5:4001",
            registries: ["swr.example.com"],
            allRegistries: false,
            noProxy: ["localhost"],
        };
        const containerd = applyScript({ ...spec, runtime: "containerd" });
        const docker = applyScript({ ...spec, runtime: "docker" });
        expect(containerd).toContain("AWK_TOML_READ=$(cat <<'AWK'");
        expect(containerd).not.toContain("AWK_DOCKER_JSON=");
        expect(docker).toContain("AWK_DOCKER_JSON=$(cat <<'AWK'");
        expect(docker).not.toContain("AWK_TOML_READ=");
        expect(restoreScript({ runtime: "containerd" })).not.toContain("<<'AWK'");
    });
});
