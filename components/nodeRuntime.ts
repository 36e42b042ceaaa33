/**
 * NodeRuntime: configures one node's container runtime to pull through Dragonfly, over SSH.
 *
 * One `command.remote.Command`: create and update run the apply script, delete runs the restore
 * script (so `pulumi destroy`, or removing the node from `nodes`, puts the original files back).
 * The command text only depends on this node's settings, so the same config gives the same
 * inputs (stable previews) and a change shows as an update of exactly the nodes it touches.
 *
 * A node marked `gone` registers the same command with `ignoreChanges: ["*"]` (every input is
 * taken from the state, so the diff is empty and the engine takes a Same step: no SSH) and
 * `retainOnDelete: true` (which the Same step writes into the state, so removing the entry later
 * deletes the record without running the restore script). See docs/decisions.md.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { hostKeyReportScript, knownHostsName, reportedKnownHosts } from "../lib/remote/hostKeys";
import { NodeEntry, SshConfig } from "../lib/node/config";
import { NodePlan } from "../lib/node/plan";
import { applyScript, NodeScriptSpec, restoreScript, SUMMARY_PREFIX } from "../lib/node/scripts";
import { nodeConnection } from "../lib/remote/connection";
import { remoteCommand } from "../lib/remote/shell";
import { orResourceError, resourceError } from "./computed";

export interface NodeRuntimeArgs {
    /** The node's part of the plan (`planNodes`): the node, its script spec, sudo, the endpoint. */
    plan: NodePlan<pulumi.Input<string>>;
    /** SSH credentials (secrets) and optional bastion. */
    ssh: SshConfig<pulumi.Input<string>>;
    /**
     * Secret "user:password" for the proxy, required when the plan's spec has `proxyAuth`;
     * passed on stdin, never in the command text.
     */
    proxyCredentials?: pulumi.Input<string>;
}

/** The preview warning for a node whose host key is not checked (no key, no policy). */
export function uncheckedHostKeyWarning(node: NodeEntry): string {
    return (
        `SSH host key of node ${node.name} (${knownHostsName(node.host, node.port)}) is NOT checked: anyone who ` +
        "can answer on that address (a reused IP, an ARP or DNS spoof) receives the root-level scripts, the " +
        "proxy credentials and the console password rotation. Pin it with nodes[].hostKey or " +
        'dragonfly-cce:ssh.knownHosts, or set ssh.hostKeyPolicy "accept-new-and-report" to collect the keys.'
    );
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Nodes with the same settings share one generated text (fleets of 1,000 nodes). */
const cache = new Map<string, { command: string; hash: string }>();

/** The remote command running `script(spec)`; `spec` and `sudo` are all it depends on. */
function generated<T>(script: (spec: T) => string, spec: T, sudo: boolean): { command: string; hash: string } {
    const key = JSON.stringify([script.name, spec, sudo]);
    let hit = cache.get(key);
    if (!hit) {
        const command = remoteCommand(script(spec), { sudo });
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
    /**
     * The hash of the node's apply and restore scripts: it changes exactly when the node's
     * configuration does (the pull check re-runs on it).
     */
    public readonly scriptHash: pulumi.Output<string>;
    /**
     * `ssh.hostKeyPolicy: accept-new-and-report` on a node without a pinned key: the known_hosts
     * lines of the keys the node reported on first contact.
     */
    public readonly reportedHostKeys?: pulumi.Output<string[]>;

    constructor(name: string, args: NodeRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:NodeRuntime", name, {}, opts);
        const { node, spec, sudo } = args.plan;
        const proxyAuth = spec.proxyAuth === true;
        if (proxyAuth && args.proxyCredentials === undefined) {
            throw resourceError(
                `node ${node.name}: the proxy requires credentials (proxyAuth) but none were given`,
                this,
            );
        }
        const connection = nodeConnection(node, args.ssh);
        // A gone node: every command keeps what the state holds and is retained (no SSH).
        const goneOpts: pulumi.CustomResourceOptions = node.gone ? { ignoreChanges: ["*"], retainOnDelete: true } : {};
        if (node.hostKey === undefined && args.ssh.hostKeyPolicy === "unchecked" && !node.gone) {
            pulumi.log.warn(uncheckedHostKeyWarning(node), this);
        }
        if (node.hostKey === undefined && args.ssh.hostKeyPolicy === "accept-new-and-report") {
            if (!node.gone) {
                pulumi.log.warn(
                    `SSH host key of node ${node.name} (${knownHostsName(node.host, node.port)}) is not ` +
                        "pinned: ssh.hostKeyPolicy accept-new-and-report accepts whatever key answers and prints it after " +
                        "the update, to be pinned in dragonfly-cce:ssh.knownHosts.",
                    this,
                );
            }
            const report = new command.remote.Command(
                `${name}-hostkey`,
                {
                    connection,
                    create: remoteCommand(hostKeyReportScript(), { sudo: false }),
                    triggers: [node.host, node.port],
                },
                { parent: this, dependsOn: opts?.dependsOn, ...goneOpts },
            );
            this.reportedHostKeys = report.stdout.apply((out) => {
                const lines = reportedKnownHosts(out, node.host, node.port);
                if (node.gone) {
                    return lines;
                }
                pulumi.log.warn(
                    `ssh.hostKeyPolicy accept-new-and-report: node ${node.name} was accepted without a host key ` +
                        `check. Its keys, as it reported them, ready to paste into dragonfly-cce:ssh.knownHosts ` +
                        `(compare them with the node's console first):\n${lines.join("\n")}`,
                    this,
                );
                return lines;
            });
        }
        const applied = pulumi
            .output(args.plan.endpoint)
            .apply((endpoint) =>
                orResourceError(
                    this,
                    () => generated<NodeScriptSpec>(applyScript, { ...spec, endpoint }, sudo),
                    `node ${node.name}`,
                ),
            );
        const apply = applied.apply((g) => g.command);
        const restore = generated(restoreScript, { runtime: spec.runtime }, sudo);
        this.command = new command.remote.Command(
            `${name}-runtime`,
            {
                connection,
                create: apply,
                update: apply,
                delete: restore.command,
                stdin: proxyAuth ? pulumi.secret(pulumi.interpolate`${args.proxyCredentials}\n`) : undefined,
                // No `triggers`: the command provider (1.2.1) replaces a command whose triggers
                // change, and a replacement runs the new apply and then the old command's delete,
                // the restore script, leaving the node unconfigured. A changed script is a change
                // of `create`/`update`/`delete`, which is an update: the apply runs again, once.
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
                ...goneOpts,
            },
        );
        this.scriptHash = pulumi.all([applied, restore.hash]).apply(([g, r]) => `${g.hash}:${r}`);
        this.nodeName = pulumi.output(node.name);
        this.summary = this.command.stdout.apply(
            (out) =>
                out
                    .split("\n")
                    .filter((l) => l.startsWith(SUMMARY_PREFIX))
                    .pop() ?? "",
        );
        this.registerOutputs({
            nodeName: this.nodeName,
            summary: this.summary,
            scriptHash: this.scriptHash,
            reportedHostKeys: this.reportedHostKeys,
        });
    }
}
