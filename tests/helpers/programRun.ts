/**
 * Runs index.ts once under the mock engine in a child process and reports how it failed, as
 * `pulumi preview` or `pulumi up` would: the errors it rejected with (the CLI's handler prints a
 * ResourceError with `hideStack` as its message under the resource's name, anything else through
 * `util.inspect`, object graph and all), and the rejections Node saw handled late (each one a
 * PromiseRejectionHandledWarning). Jest fails any test in which a promise rejects unhandled, so
 * programs that must fail run here (`node -r tests/helpers/tsRegister.js programRun.ts '<json>'`).
 */
import { execFile } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { ProviderMode, recordResources } from "./mockEngine";
import { tsNodeArgs } from "./children";

/** What a provider leaves out, to play a failure on `up`. */
export type Missing = "none" | "nodePort" | "ingress";

export interface ProgramRunArgs {
    config: Record<string, string>;
    preview: boolean;
    providers: ProviderMode;
    missing: Missing;
}

export interface ReportedError {
    message: string;
    /** A ResourceError whose stack the CLI hides: printed as its message only. */
    printedAsMessage: boolean;
    /** The resource the error names (ResourceError), e.g. `dragonfly-console`. */
    resource?: string;
}

export interface ProgramRunResult {
    errors: ReportedError[];
    /** Rejections handled after Node reported them unhandled (PromiseRejectionHandledWarning). */
    lateHandled: number;
}

const SELF = path.join(__dirname, "programRun.ts");

/** Runs the program in a child process (see the file comment). */
export function runProgramChild(args: ProgramRunArgs): Promise<ProgramRunResult> {
    const dir = mkdtempSync(path.join(tmpdir(), "dfcce-run-"));
    const out = path.join(dir, "result.json");
    return new Promise<ProgramRunResult>((resolve, reject) => {
        execFile(
            process.execPath,
            tsNodeArgs(SELF, JSON.stringify(args), out),
            { cwd: path.join(__dirname, "..", ".."), timeout: 60000 },
            (err, stdout, stderr) => {
                if (err) {
                    reject(new Error(`${err.message}\n${stdout}\n${stderr}`));
                    return;
                }
                resolve(JSON.parse(readFileSync(out, "utf8")) as ProgramRunResult);
            },
        );
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function drop(missing: Missing, type: string, state: Record<string, any>): Record<string, any> {
    if (type !== "kubernetes:core/v1:Service") {
        return state;
    }
    if (missing === "nodePort" && state.spec?.type === "NodePort") {
        const ports = (state.spec.ports as Record<string, unknown>[]).map(({ nodePort: _, ...p }) => p);
        return { ...state, spec: { ...state.spec, ports } };
    }
    if (missing === "ingress" && state.spec?.type === "LoadBalancer") {
        return { ...state, status: { loadBalancer: {} } };
    }
    return state;
}

if (require.main === module) {
    const args = JSON.parse(process.argv[2]) as ProgramRunArgs;
    const seen = new Set<unknown>();
    const errors: ReportedError[] = [];
    let lateHandled = 0;
    process.on("unhandledRejection", (e) => {
        if (seen.has(e)) {
            return;
        }
        seen.add(e);
        const resourceError = pulumi.ResourceError.isInstance(e);
        errors.push({
            message: e instanceof Error ? e.message : String(e),
            printedAsMessage: resourceError && (e as pulumi.ResourceError).hideStack === true,
            resource: resourceError
                ? ((e as pulumi.ResourceError).resource as unknown as { __name?: string } | undefined)?.__name
                : undefined,
        });
    });
    process.on("rejectionHandled", () => {
        lateHandled += 1;
    });
    recordResources({
        preview: args.preview,
        providers: args.providers,
        adjustState: (a, state) => drop(args.missing, a.type, state),
    });
    pulumi.runtime.setAllConfig(args.config);
    // As the CLI's `run` does: the program's exports become the Stack resource's outputs.
    void pulumi.runtime.runInPulumiStack(async () => require("../../index"));
    // Pulumi's log goes to stdout, so the result goes to a file; the mocks keep the process alive.
    setTimeout(() => {
        writeFileSync(process.argv[3], JSON.stringify({ errors, lateHandled }));
        process.exit(0);
    }, 1500);
}
