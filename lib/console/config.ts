/**
 * Config `console: { nodePort?, nodeAddress?, rotatePassword?, password? }` (namespace
 * `dragonfly-cce:`): how the console is reached and whether the stack rotates root's password.
 */
import { fail, hostAllowed, isHost, optBool, optInt, optObject, optString } from "../config/validate";
import { checkConsolePassword } from "./password";

/** The config key of the console's root password (secret). */
export const CONSOLE_PASSWORD_KEY = "console.password";

export interface ConsoleConfig {
    /** Fixed node port (30000-32767). Default: Kubernetes picks one. */
    nodePort?: number;
    /** The node address used in `consoleUrl`. Default: the first configured node. */
    nodeAddress?: string;
    /**
     * Rotate root's password from a configured node: to {@link password} when given, else to a
     * generated one (kept in state). Turning it off (or listing no node) stops the rotation; a
     * password the stack gave the console stays in `consoleCredentials`. Default true.
     */
    rotatePassword: boolean;
    /**
     * root's password (secret, 8-20 printable ASCII characters, no spaces): a chosen one the
     * rotation gives the console, or the console's current one, recovered, for the stack to use.
     * No default: the stack generates one.
     */
    password?: string;
}

export function parseConsole(value: unknown): ConsoleConfig {
    const o = optObject("console", value, ["nodePort", "nodeAddress", "rotatePassword", "password"]);
    const nodePort = optInt("console.nodePort", o.nodePort, 30000, 32767);
    const nodeAddress = optString("console.nodeAddress", o.nodeAddress, "a node IP address or host name");
    if (nodeAddress !== undefined && !isHost(nodeAddress)) {
        fail(
            "console.nodeAddress",
            nodeAddress,
            hostAllowed("a node IP address or host name, without scheme or port", nodeAddress),
        );
    }
    const c: ConsoleConfig = { rotatePassword: optBool("console.rotatePassword", o.rotatePassword) ?? true };
    if (nodePort !== undefined) {
        c.nodePort = nodePort;
    }
    if (nodeAddress !== undefined) {
        c.nodeAddress = nodeAddress;
    }
    if (o.password !== undefined && o.password !== null) {
        c.password = checkConsolePassword(CONSOLE_PASSWORD_KEY, o.password);
    }
    return c;
}
