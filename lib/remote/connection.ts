/**
 * The SSH connection of a host for `command.remote.Command`: address, user, credentials, the host
 * keys it pins, the bastion, and how long dialling may take.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** Seconds each SSH dial attempt may take. */
export const DEFAULT_DIAL_TIMEOUT_SECONDS = 10;
/**
 * SSH dial attempts before the command fails: a node that is briefly unreachable gets about
 * 30 s, a node that is gone fails well under a minute (set `gone: true` for it).
 */
export const DEFAULT_DIAL_ERROR_LIMIT = 3;

/** The host end of a connection (a node entry has these fields). */
export interface SshTarget {
    host: string;
    port: number;
    user: string;
    /** The public host key the connection pins. */
    hostKey?: string;
}

/** Credentials and the jump host (the `ssh` settings have these fields). `S`: secret values. */
export interface SshCredentials<S = string> {
    privateKey?: S;
    password?: S;
    bastion?: { host: string; port: number; user: string; privateKey?: S; hostKey?: string };
}

/**
 * The SSH connection settings of a node, with the host keys it pins (`hostKey`; the provider
 * refuses any other key before running anything). ./hostKeys.ts `connectionKnownHosts`
 * turns the same settings into known_hosts lines for OpenSSH (tests/e2e/hostKeys.test.ts).
 */
export function connectionArgs(
    node: SshTarget,
    ssh: SshCredentials<pulumi.Input<string>>,
): command.types.input.remote.ConnectionArgs {
    const connection: command.types.input.remote.ConnectionArgs = {
        host: node.host,
        port: node.port,
        user: node.user,
        privateKey: ssh.privateKey,
        password: ssh.password,
        perDialTimeout: DEFAULT_DIAL_TIMEOUT_SECONDS,
        dialErrorLimit: DEFAULT_DIAL_ERROR_LIMIT,
    };
    if (node.hostKey !== undefined) {
        connection.hostKey = node.hostKey;
    }
    if (ssh.bastion) {
        connection.proxy = {
            host: ssh.bastion.host,
            port: ssh.bastion.port,
            user: ssh.bastion.user,
            privateKey: ssh.bastion.privateKey,
            perDialTimeout: DEFAULT_DIAL_TIMEOUT_SECONDS,
            dialErrorLimit: DEFAULT_DIAL_ERROR_LIMIT,
        };
        if (ssh.bastion.hostKey !== undefined) {
            connection.proxy.hostKey = ssh.bastion.hostKey;
        }
    }
    return connection;
}

/** The SSH connection of a node (a secret as a whole). */
export function nodeConnection(
    node: SshTarget,
    ssh: SshCredentials<pulumi.Input<string>>,
): pulumi.Output<command.types.input.remote.ConnectionArgs> {
    return pulumi.secret(pulumi.output(connectionArgs(node, ssh)));
}
