/**
 * PullVerification: after the nodes are configured, pulls one image on one node the way the
 * kubelet does and proves from the Dragonfly client's counters that the pull went through
 * Dragonfly (see lib/verify/script.ts). `pulumi up` fails with a clear message when it did not.
 *
 * One `command.remote.Command` with no delete step (nothing to undo). It runs again only when
 * its inputs change: the image, the node, or the node configuration's identity passed in
 * `triggers` (e.g. the NodeRuntime's script hash); not on every `up`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { remoteCommand } from "../lib/remote/shell";
import { orResourceError } from "./computed";
import { parseVerificationOutput, Verification } from "../lib/verify/result";
import { DEFAULT_PULL_TIMEOUT_SECONDS, verifyScript } from "../lib/verify/script";

export { DEFAULT_PULL_TIMEOUT_SECONDS } from "../lib/verify/script";
export { DEFAULT_METRICS_URL } from "../lib/dragonfly";

export interface PullVerificationArgs {
    /** SSH connection of the node (stored as a secret). */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Run the script through `sudo -n` (the SSH user is not root). */
    sudo: boolean;
    /** The node's runtime: `crictl pull` on containerd, `docker pull` on Docker. */
    runtime: "containerd" | "docker";
    /** Image reference to pull (validated by parseVerifyConfig). */
    image: string;
    /** The node's name (reported back in `verification`). */
    node: string;
    /**
     * Identity of the node's configuration (e.g. the NodeRuntime's script hash): when it
     * changes, the verification runs again.
     */
    triggers: pulumi.Input<unknown>[];
    /** Metrics endpoints to read (default: the Dragonfly client on this node, 127.0.0.1:4002). */
    metricsUrls?: string[];
    /** Seconds the pull may take (default {@link DEFAULT_PULL_TIMEOUT_SECONDS}). */
    pullTimeoutSeconds?: number;
}

export class PullVerification extends pulumi.ComponentResource {
    /** What the pull showed: image, node, pull time, whether it went through Dragonfly, traffic split. */
    public readonly verification: pulumi.Output<Verification>;
    /** The remote command (exposed for tests and dependsOn). */
    public readonly command: command.remote.Command;

    constructor(name: string, args: PullVerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:PullVerification", name, {}, opts);
        const script = verifyScript({
            image: args.image,
            node: args.node,
            runtime: args.runtime,
            metricsUrls: args.metricsUrls,
            pullTimeoutSeconds: args.pullTimeoutSeconds ?? DEFAULT_PULL_TIMEOUT_SECONDS,
        });
        this.command = new command.remote.Command(
            `${name}-pull`,
            {
                connection: pulumi.secret(args.connection),
                create: remoteCommand(script, { sudo: args.sudo }),
                triggers: [args.image, args.node, args.runtime, ...args.triggers],
            },
            { parent: this },
        );
        this.verification = this.command.stdout.apply((stdout) =>
            orResourceError(this, () => parseVerificationOutput(stdout), `pull check on node ${args.node}`),
        );
        this.registerOutputs({ verification: this.verification });
    }
}
