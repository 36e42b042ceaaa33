/**
 * Replaces the Dragonfly console's public default root password (`dragonfly`) with a password
 * of the stack's own, through the manager's REST API, from a cluster node over SSH.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { remoteCommand } from "../lib/remote/shell";
import { CONSOLE_PASSWORD_KEY } from "../lib/console/config";
import { orResourceError } from "./computed";

import { GENERATED_PASSWORD_LENGTH, GENERATED_PASSWORD_SPECIALS, checkConsolePassword } from "../lib/console/password";
import { CONSOLE_USERNAME, DEFAULT_CONSOLE_PASSWORD } from "../lib/dragonfly";
import {
    DEFAULT_ROTATE_ATTEMPTS,
    DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS,
    rotatePasswordScript,
    rotatePasswordStdin,
} from "../lib/console/rotateScript";

/** Tries while the manager is not ready (no answer or 5xx), see {@link rotatePasswordScript}. */
export const DEFAULT_CONSOLE_PASSWORD_ATTEMPTS = DEFAULT_ROTATE_ATTEMPTS;

/** Seconds between two tries. With the attempts above: about 5 minutes for the manager to come up. */
export const DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS = DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS;

/**
 * What the stack last gave the console, kept in the `keepers` of a marker resource
 * (`<name>-applied`): `generated` (the RandomPassword), `chosen` (a `password` given then), or
 * `none`. It is written after a successful rotation and kept while no rotation runs (the
 * marker then ignores changes to its keepers), so the program knows whether the console holds
 * the generated password after the rotation is turned off or its node is gone.
 */
export type AppliedPassword = "generated" | "chosen" | "none";

/** Where the rotation runs: a cluster node that reaches the console NodePort. */
export interface ConsoleRotation {
    /**
     * SSH connection to the node. Held as a secret (it carries the private key).
     */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** The manager's REST API as the node sees it, e.g. `http://192.168.0.10:30080`. Not secret. */
    consoleUrl: pulumi.Input<string>;
    /**
     * More values that make the rotation run again when they change, e.g. something that changes
     * when the manager's database is recreated. The password and the console URL always do.
     */
    triggers?: pulumi.Input<unknown>[];
}

export interface ConsolePasswordArgs {
    /**
     * Where to run the rotation now. Omitted (rotation off, or no node to run it from): nothing
     * runs, and the password the stack gave the console before stays in `credentials`.
     */
    rotation?: ConsoleRotation;
    /**
     * root's password (8-20 printable ASCII characters, no spaces): chosen (the rotation gives it
     * to the console) or recovered (the console has it already). Default: the generated
     * `random.RandomPassword` of {@link GENERATED_PASSWORD_LENGTH} characters, kept in state.
     */
    password?: pulumi.Input<string>;
    /**
     * Passwords root may have now besides the generated one and the chart default, tried in
     * order before them.
     */
    formerPasswords?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tries while the manager is not ready. Default {@link DEFAULT_CONSOLE_PASSWORD_ATTEMPTS}. */
    attempts?: number;
    /** Seconds between tries. Default {@link DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS}. */
    retryIntervalSeconds?: number;
}

/**
 * root's password for the console: generated once and kept in state for the stack's whole life
 * (whatever the rotation settings), or given; rotated from a node when `rotation` is given.
 * Order it after the Dragonfly release with `dependsOn`; the script also waits for the manager.
 */
export class ConsolePassword extends pulumi.ComponentResource {
    /** The console account: `root`. */
    public readonly username: pulumi.Output<string>;
    /**
     * root's password as far as the stack knows (secret): the given one; else the generated one
     * once a rotation gave it to the console; else undefined (the console keeps the chart's).
     */
    public readonly password: pulumi.Output<string | undefined>;
    /** `{ username, password }` when {@link password} is known (secret), else undefined. */
    public readonly credentials: pulumi.Output<{ username: string; password: string } | undefined>;
    /** What the stack last gave the console (see {@link AppliedPassword}). */
    public readonly applied: pulumi.Output<AppliedPassword>;
    /** The remote command running the rotation script; undefined without `rotation`. */
    public readonly command?: command.remote.Command;
    /** The generated password: always there, so a password the console got is never lost. */
    public readonly randomPassword: random.RandomPassword;

    constructor(name: string, args: ConsolePasswordArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:ConsolePassword", name, {}, opts);

        if (typeof args.password === "string") {
            checkConsolePassword(CONSOLE_PASSWORD_KEY, args.password);
        }

        this.randomPassword = new random.RandomPassword(
            `${name}-password`,
            {
                length: GENERATED_PASSWORD_LENGTH,
                special: true,
                overrideSpecial: GENERATED_PASSWORD_SPECIALS,
                minLower: 2,
                minUpper: 2,
                minNumeric: 2,
                minSpecial: 2,
            },
            { parent: this },
        );
        const generated = this.randomPassword.result;
        const chosen = args.password !== undefined;
        const password = pulumi.secret(
            (chosen ? pulumi.output(args.password as pulumi.Input<string>) : generated).apply((p) =>
                orResourceError(this, () => checkConsolePassword(CONSOLE_PASSWORD_KEY, p)),
            ),
        );

        let ran: pulumi.Output<unknown> = pulumi.output(undefined);
        const markerDeps: pulumi.Resource[] = [];
        if (args.rotation !== undefined) {
            const rotation = args.rotation;
            // A given password replaces the generated one, which the console may have.
            const others = pulumi
                .all([pulumi.output(args.formerPasswords ?? []), generated])
                .apply(([former, g]) => (chosen ? [...former, g] : former));
            const stdin = pulumi.secret(
                pulumi
                    .all([password, others])
                    .apply(([p, former]) =>
                        orResourceError(this, () =>
                            rotatePasswordStdin(p, [...former.filter((f) => f !== p), DEFAULT_CONSOLE_PASSWORD]),
                        ),
                    ),
            );
            const script = pulumi.output(rotation.consoleUrl).apply((consoleUrl) =>
                orResourceError(this, () =>
                    rotatePasswordScript({
                        consoleUrl,
                        username: CONSOLE_USERNAME,
                        attempts: args.attempts ?? DEFAULT_CONSOLE_PASSWORD_ATTEMPTS,
                        retryIntervalSeconds:
                            args.retryIntervalSeconds ?? DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS,
                    }),
                ),
            );
            // Run by bash whatever the login shell is (the shebang is a comment under `sh -c`).
            this.command = new command.remote.Command(
                `${name}-rotate`,
                {
                    connection: pulumi.secret(rotation.connection),
                    create: script.apply((text) => remoteCommand(text, { sudo: false })),
                    stdin,
                    // The script's output is one summary line plus progress on stderr, never a
                    // password (tests/console prove it), and an operator needs it when it fails.
                    logging: command.types.enums.remote.Logging.StdoutAndStderr,
                    addPreviousOutputInEnv: false,
                    // One secret Output for the whole list, never a list holding a secret: in a new
                    // stack's preview the password is unknown, and the real engine (3.276) hands
                    // the command provider (1.2.1) a secret element without its value, which it
                    // refuses ("triggers[0]: malformed secret: missing value"). A whole unknown
                    // list is simply unknown.
                    triggers: pulumi.secret(pulumi.all([password, ...(rotation.triggers ?? [])])),
                },
                { parent: this, dependsOn: opts?.dependsOn },
            );
            ran = this.command.stdout;
            markerDeps.push(this.command);
        }

        // Written only after a successful rotation; kept as it is while none runs.
        const appliedNow: AppliedPassword = args.rotation === undefined ? "none" : chosen ? "chosen" : "generated";
        const marker = new random.RandomId(
            `${name}-applied`,
            { byteLength: 4, keepers: { password: appliedNow } },
            {
                parent: this,
                dependsOn: markerDeps,
                ignoreChanges: args.rotation === undefined ? ["keepers"] : [],
            },
        );
        this.applied = marker.keepers.apply((k) => {
            const v = k?.password;
            return v === "generated" || v === "chosen" ? v : "none";
        });

        this.username = pulumi.output(CONSOLE_USERNAME);
        // Resolve only after the command ran: the credentials are valid from then on. The password
        // is read only when it is exported: the generated one is unknown in a new stack's preview,
        // which must not make an absent consoleCredentials unknown too.
        this.password = pulumi.secret(
            pulumi.all([ran, this.applied]).apply(([, applied]): pulumi.Output<string> | undefined => {
                if (chosen || applied === "generated") {
                    return password;
                }
                if (applied === "chosen") {
                    pulumi.log.warn(
                        `the console keeps the password last given in dragonfly-cce:${CONSOLE_PASSWORD_KEY}, which ` +
                            "the stack no longer holds: consoleCredentials is absent. Set it again (secret) to have it exported.",
                        this,
                    );
                }
                return undefined;
            }),
        );
        this.credentials = pulumi.secret(
            pulumi
                .all([this.username, this.password])
                .apply(([username, p]) => (p === undefined ? undefined : { username, password: p })),
        );

        this.registerOutputs({
            username: this.username,
            password: this.password,
            credentials: this.credentials,
            applied: this.applied,
        });
    }
}
