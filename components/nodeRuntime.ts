/**
 * NodeRuntime: configures one node's container runtime to pull through Dragonfly, over SSH.
 *
 * One `command.remote.Command`: create and update run the apply script, delete runs the restore
 * script (so `pulumi destroy`, or removing the node from `nodes`, puts the original files back).
 * The command text only depends on this node's settings, so the same config gives the same
 * inputs (stable previews) and a change shows as an update of exactly the nodes it touches.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { NodeEntry, SshConfig } from "../lib/nodeConfig";
import { applyScript, NodeScriptSpec, remoteCommand, restoreScript } from "../lib/node/scripts";

/** Seconds each SSH dial attempt may take. */
export const DEFAULT_DIAL_TIMEOUT_SECONDS = 15;
/** SSH dial attempts before the command fails (nodes may be rebooting). */
export const DEFAULT_DIAL_ERROR_LIMIT = 10;

export interface NodeRuntimeArgs {
    /** The node: host, port, user, runtime. */
    node: NodeEntry;
    /** SSH credentials (secrets) and optional bastion. */
    ssh: SshConfig;
    /** What to configure, without the endpoint. */
    spec: Omit<NodeScriptSpec, "endpoint" | "proxyAuth">;
    /** The Dragonfly endpoint, "http://HOST:PORT". */
    endpoint: pulumi.Input<string>;
    /** Secret "user:password" for the proxy; passed on stdin, never in the command text. */
    proxyCredentials?: pulumi.Input<string>;
}

/** The SSH connection of a node (a secret as a whole). */
export function nodeConnection(
    node: NodeEntry,
    ssh: SshConfig,
): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    const connection: command.types.input.remote.ConnectionArgs = {
        host: node.host,
        port: node.port,
        user: node.user,
        privateKey: ssh.privateKey,
        password: ssh.password,
        perDialTimeout: DEFAULT_DIAL_TIMEOUT_SECONDS,
        dialErrorLimit: DEFAULT_DIAL_ERROR_LIMIT,
    };
    if (ssh.bastion) {
        connection.proxy = {
            host: ssh.bastion.host,
            port: ssh.bastion.port,
            user: ssh.bastion.user,
            privateKey: ssh.bastion.privateKey,
            perDialTimeout: DEFAULT_DIAL_TIMEOUT_SECONDS,
            dialErrorLimit: DEFAULT_DIAL_ERROR_LIMIT,
        };
    }
    return pulumi.secret(pulumi.output(connection));
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Nodes with the same settings share one generated text (fleets of 1,000 nodes). */
const cache = new Map<string, { command: string; hash: string }>();

function generated(kind: "apply" | "restore", spec: NodeScriptSpec, sudo: boolean): { command: string; hash: string } {
    const key = JSON.stringify([kind, spec, sudo]);
    let hit = cache.get(key);
    if (!hit) {
        const command = remoteCommand(kind === "apply" ? applyScript(spec) : restoreScript(spec), { sudo });
        hit = { command, hash: sha256(command) };
        if (cache.size > 1000) {
            cache.clear();
        }
        cache.set(key, hit);
    }
    return hit;
}

export class NodeRuntime extends pulumi.ComponentResource {
    /** The node's name. */
    public readonly nodeName: pulumi.Output<string>;
    /** The apply script's summary line ("dragonfly-cce: changed=..., restarted=yes|no"). */
    public readonly summary: pulumi.Output<string>;
    /** The remote command (exposed for tests and dependsOn). */
    public readonly command: command.remote.Command;

    constructor(name: string, args: NodeRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeRuntime", name, {}, opts);
        const sudo = args.node.user !== "root";
        const proxyAuth = args.proxyCredentials !== undefined && args.spec.mode === "proxy";
        const applied = pulumi
            .output(args.endpoint)
            .apply((endpoint) => generated("apply", { ...args.spec, endpoint, proxyAuth }, sudo));
        const apply = applied.apply((g) => g.command);
        const restore = generated("restore", { ...args.spec, endpoint: "http://127.0.0.1:4001" }, sudo);
        this.command = new command.remote.Command(
            `${name}-runtime`,
            {
                connection: nodeConnection(args.node, args.ssh),
                create: apply,
                update: apply,
                delete: restore.command,
                stdin: proxyAuth ? pulumi.secret(pulumi.interpolate`${args.proxyCredentials}\n`) : undefined,
                // Re-run exactly when this node's scripts change.
                triggers: [applied.apply((g) => g.hash), restore.hash],
                // The scripts print no secrets; with proxy credentials the runtime's own error
                // (stderr) might quote the proxy URL, so only stdout is logged then.
                logging: proxyAuth ? "stdout" : "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: opts?.dependsOn,
                additionalSecretOutputs: proxyAuth ? ["stdout", "stderr"] : [],
                customTimeouts: { create: "10m", update: "10m", delete: "10m" },
            },
        );
        this.nodeName = pulumi.output(args.node.name);
        this.summary = this.command.stdout.apply(
            (out) =>
                out
                    .split("\n")
                    .filter((l) => l.startsWith("dragonfly-cce:"))
                    .pop() ?? "",
        );
        this.registerOutputs({ nodeName: this.nodeName, summary: this.summary });
    }
}
