/**
 * The mock engine for examples/consumer: the referenced dragonfly-cce stack's outputs are the
 * `pulumi:pulumi:StackReference` resource's `outputs` state, and every resource is recorded.
 *
 * Run as a script (`node -r tests/helpers/tsRegister.js consumerMocks.ts '<json>'`), it runs
 * the consumer program once against the given outputs and prints, as JSON, the errors the program
 * failed with (the unhandled rejections `pulumi up` would report). Jest fails any test in which a
 * promise rejects unhandled, so programs that must fail are run in a child process.
 */
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { recordResources, Registered, setStackOutputs } from "./mockEngine";

export const CONSUMER_PROGRAM = path.join(__dirname, "..", "..", "examples", "consumer", "index");

/** The consumer's stack config key that names the referenced stack. */
const STACK_KEY = "dragonfly-consumer:dragonflyStack";

/**
 * Installs the mock engine (tests/helpers/mockEngine.ts) for the consumer project, with the
 * stack that `config` names exporting `stackOutputs`; the returned array fills as resources
 * register.
 */
export function installConsumerMocks(
    stackOutputs: Record<string, unknown>,
    config: Record<string, string>,
): Registered[] {
    if (config[STACK_KEY] !== undefined) {
        setStackOutputs(config[STACK_KEY], stackOutputs);
    }
    const registered = recordResources({ project: "dragonfly-consumer" });
    pulumi.runtime.setAllConfig(config);
    return registered;
}

if (require.main === module) {
    const { outputs, config } = JSON.parse(process.argv[2]) as {
        outputs: Record<string, unknown>;
        config: Record<string, string>;
    };
    const errors: string[] = [];
    process.on("unhandledRejection", (e) => {
        // A ResourceError with its stack hidden is what the CLI prints as its message alone; any
        // other error it formats with every object it references (a minute and gigabytes for a
        // program's error, docs/decisions.md "Previews"), so the class is part of what is reported.
        const short = pulumi.ResourceError.isInstance(e) && (e as { hideStack?: boolean }).hideStack === true;
        errors.push(`${short ? "ResourceError" : "Error"}: ${e instanceof Error ? e.message : String(e)}`);
    });
    installConsumerMocks(outputs, config);
    require(CONSUMER_PROGRAM);
    setTimeout(() => {
        process.stdout.write(JSON.stringify({ errors: [...new Set(errors)] }));
    }, 300);
}
