/**
 * Replaces the Dragonfly console's public default root password (`dragonfly`) with a password
 * of the stack's own, through the manager's REST API, from a cluster node over SSH.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { remoteCommand } from "../lib/node/scripts";

import {
    CONSOLE_USERNAME,
    DEFAULT_CONSOLE_PASSWORD,
    GENERATED_PASSWORD_LENGTH,
    GENERATED_PASSWORD_SPECIALS,
    checkConsolePassword,
} from "../lib/console/password";
import {
    DEFAULT_ROTATE_ATTEMPTS,
    DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS,
    rotatePasswordScript,
    rotatePasswordStdin,
} from "../lib/console/rotateScript";

/** Config key named in errors about the console password. */
export const CONSOLE_PASSWORD_KEY = "console.password";

/** Tries while the manager is not ready (no answer or 5xx), see {@link rotatePasswordScript}. */
export const DEFAULT_CONSOLE_PASSWORD_ATTEMPTS = DEFAULT_ROTATE_ATTEMPTS;

/** Seconds between two tries. With the attempts above: about 5 minutes for the manager to come up. */
export const DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS = DEFAULT_ROTATE_RETRY_INTERVAL_SECONDS;

export interface ConsolePasswordArgs {
    /**
     * SSH connection to a cluster node that reaches the console NodePort. Held as a secret (it
     * carries the private key).
     */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** The manager's REST API as the node sees it, e.g. `http://192.168.0.10:30080`. Not secret. */
    consoleUrl: pulumi.Input<string>;
    /**
     * The password to give root (8-20 printable ASCII characters, no spaces). Default: a
     * `random.RandomPassword` of {@link GENERATED_PASSWORD_LENGTH} characters, kept in state.
     */
    password?: pulumi.Input<string>;
    /**
     * Passwords root may have now besides the chart default, tried in order before it: give the
     * old password here when changing `password` after a rotation, otherwise the new run finds
     * neither the new nor the default password and fails (on purpose, without changing anything).
     */
    formerPasswords?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * More values that make the rotation run again when they change, e.g. something that changes
     * when the manager's database is recreated. The password and the console URL always do.
     */
    triggers?: pulumi.Input<unknown>[];
    /** Tries while the manager is not ready. Default {@link DEFAULT_CONSOLE_PASSWORD_ATTEMPTS}. */
    attempts?: number;
    /** Seconds between tries. Default {@link DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS}. */
    retryIntervalSeconds?: number;
}

/**
 * Rotates the console's root password. Order it after the Dragonfly release with
 * `dependsOn` in the resource options; the script also waits (bounded) for the manager.
 */
export class ConsolePassword extends pulumi.ComponentResource {
    /** The console account: `root`. */
    public readonly username: pulumi.Output<string>;
    /** root's password once the rotation has run (secret). */
    public readonly password: pulumi.Output<string>;
    /** `{ username, password }` once the rotation has run (secret). */
    public readonly credentials: pulumi.Output<{ username: string; password: string }>;
    /** The remote command running the rotation script. */
    public readonly command: command.remote.Command;
    /** The generated password, when `password` was not given. */
    public readonly randomPassword?: random.RandomPassword;

    constructor(name: string, args: ConsolePasswordArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:ConsolePassword", name, {}, opts);

        if (typeof args.password === "string") {
            checkConsolePassword(CONSOLE_PASSWORD_KEY, args.password);
        }

        let password: pulumi.Output<string>;
        if (args.password === undefined) {
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
            password = this.randomPassword.result;
        } else {
            password = pulumi.output(args.password);
        }
        password = pulumi.secret(password.apply((p) => checkConsolePassword(CONSOLE_PASSWORD_KEY, p)));

        const stdin = pulumi.secret(
            pulumi
                .all([password, pulumi.output(args.formerPasswords ?? [])])
                .apply(([p, former]) => rotatePasswordStdin(p, [...former, DEFAULT_CONSOLE_PASSWORD])),
        );

        const script = pulumi.output(args.consoleUrl).apply((consoleUrl) =>
            rotatePasswordScript({
                consoleUrl,
                username: CONSOLE_USERNAME,
                attempts: args.attempts ?? DEFAULT_CONSOLE_PASSWORD_ATTEMPTS,
                retryIntervalSeconds: args.retryIntervalSeconds ?? DEFAULT_CONSOLE_PASSWORD_RETRY_INTERVAL_SECONDS,
            }),
        );

        // Run by bash whatever the login shell is (the shebang is a comment under `sh -c`).
        this.command = new command.remote.Command(
            `${name}-rotate`,
            {
                connection: pulumi.secret(args.connection),
                create: script.apply((text) => remoteCommand(text, { sudo: false })),
                stdin,
                // The script's output is one summary line plus progress on stderr, never a
                // password (tests/console prove it), and an operator needs it when it fails.
                logging: command.types.enums.remote.Logging.StdoutAndStderr,
                addPreviousOutputInEnv: false,
                triggers: [password, ...(args.triggers ?? [])],
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );

        this.username = pulumi.output(CONSOLE_USERNAME);
        // Resolve only after the command ran: the credentials are valid from then on.
        this.password = pulumi.secret(pulumi.all([this.command.stdout, password]).apply(([, p]) => p));
        this.credentials = pulumi.secret(
            pulumi.all([this.username, this.password]).apply(([username, p]) => ({ username, password: p })),
        );

        this.registerOutputs({
            username: this.username,
            password: this.password,
            credentials: this.credentials,
        });
    }
}
