/**
 * Mock engine for examples/consumer: plays the referenced dragonfly-cce stack by giving the
 * `pulumi:pulumi:StackReference` resource an `outputs` state, and records every resource.
 *
 * Run as a script (`node -r ts-node/register/transpile-only consumerMocks.ts '<json>'`), it runs
 * the consumer program once against the given outputs and prints, as JSON, the errors the program
 * failed with (the unhandled rejections `pulumi up` would report). Jest fails any test in which a
 * promise rejects unhandled, so programs that must fail are run in a child process.
 */
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { unwrapSecrets } from "./mockEngine";

export const CONSUMER_PROGRAM = path.join(__dirname, "..", "..", "examples", "consumer", "index");

export interface ConsumerRegistered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** Installs the mocks and the consumer's config; the returned array fills as resources register. */
export function installConsumerMocks(
    stackOutputs: Record<string, unknown>,
    config: Record<string, string>,
): ConsumerRegistered[] {
    const registered: ConsumerRegistered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const inputs = unwrapSecrets(args.inputs);
                registered.push({ type: args.type, name: args.name, inputs });
                if (args.type === "pulumi:pulumi:StackReference") {
                    // The engine reads the referenced stack: its outputs are the resource's state.
                    return {
                        id: inputs.name,
                        state: { name: inputs.name, outputs: stackOutputs, secretOutputNames: [] },
                    };
                }
                return { id: `${args.name}-id`, state: inputs };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "dragonfly-consumer",
        "test",
        false,
    );
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
