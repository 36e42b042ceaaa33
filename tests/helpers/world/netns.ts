/**
 * A small switched network of network namespaces: one "hub" namespace holds a bridge, every
 * other namespace gets one veth leg (`eth0`) plugged into it. Addresses come from
 * 198.18.0.0/24 (RFC 2544 benchmarking range): the namespaces are isolated from the host, so
 * several runs can use the same addresses at once. Nothing is added to the host's own network
 * namespace; deleting the namespaces deletes the veth pairs and the bridge.
 */
import { execFileSync } from "child_process";
import { readdirSync } from "fs";
import { run } from "./exec";

export const SUBNET_PREFIX = "198.18.0";
export const PREFIX_LEN = 24;

/** Namespace names of one run start with this; `<pid>` makes them unique per process. */
export const NETNS_PREFIX = "dfpull-";

export interface NetnsHost {
    /** Namespace name. */
    netns: string;
    /** Addresses on eth0 (the first one is the primary). */
    addresses: string[];
}

export interface NetworkSpec {
    /** Host role name -> addresses (last octets) inside 198.18.0.0/24; the hub is .1. */
    [role: string]: number[];
}

export interface Network {
    hub: NetnsHost;
    hosts: Record<string, NetnsHost>;
    /** Every namespace created, for teardown. */
    namespaces: string[];
}

export function netnsName(pid: number, role: string): string {
    return `${NETNS_PREFIX}${pid}-${role}`;
}

async function ip(args: string[]): Promise<void> {
    await run("ip", args);
}

/**
 * Creates the hub and one namespace per role. Namespaces are recorded in `created` as they
 * appear, so a failure half-way can still be torn down completely.
 */
export async function createNetwork(pid: number, spec: NetworkSpec, created: string[]): Promise<Network> {
    const hubName = netnsName(pid, "hub");
    await ip(["netns", "add", hubName]);
    created.push(hubName);
    await ip(["-n", hubName, "link", "set", "lo", "up"]);
    await ip(["-n", hubName, "link", "add", "br0", "type", "bridge"]);
    await ip(["-n", hubName, "addr", "add", `${SUBNET_PREFIX}.1/${PREFIX_LEN}`, "dev", "br0"]);
    await ip(["-n", hubName, "link", "set", "br0", "up"]);
    const hosts: Record<string, NetnsHost> = {};
    for (const [role, octets] of Object.entries(spec)) {
        const ns = netnsName(pid, role);
        await ip(["netns", "add", ns]);
        created.push(ns);
        await ip(["-n", ns, "link", "set", "lo", "up"]);
        const leg = `v-${role}`.slice(0, 15);
        await ip(["-n", hubName, "link", "add", leg, "type", "veth", "peer", "name", "eth0", "netns", ns]);
        await ip(["-n", hubName, "link", "set", leg, "master", "br0"]);
        await ip(["-n", hubName, "link", "set", leg, "up"]);
        const addresses = octets.map((o) => `${SUBNET_PREFIX}.${o}`);
        for (const a of addresses) {
            await ip(["-n", ns, "addr", "add", `${a}/${PREFIX_LEN}`, "dev", "eth0"]);
        }
        await ip(["-n", ns, "link", "set", "eth0", "up"]);
        hosts[role] = { netns: ns, addresses };
    }
    return { hub: { netns: hubName, addresses: [`${SUBNET_PREFIX}.1`] }, hosts, namespaces: created };
}

/** PIDs of every process inside a namespace (`ip netns pids`). */
export function netnsPids(ns: string): number[] {
    try {
        return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
            .split(/\s+/)
            .filter((s) => /^\d+$/.test(s))
            .map(Number);
    } catch {
        return [];
    }
}

/**
 * Kills every process inside the namespaces (all of them were started by this run: the
 * namespaces are ours) and deletes the namespaces. Synchronous, so it also works from an
 * exit handler. Returns what could not be removed.
 */
export function destroyNamespaces(namespaces: string[]): string[] {
    for (let round = 0; round < 50; round++) {
        const pids = namespaces.flatMap(netnsPids);
        if (pids.length === 0) {
            break;
        }
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* already gone */
            }
        }
        execFileSync("sleep", ["0.1"]);
    }
    const left: string[] = [];
    for (const ns of [...namespaces].reverse()) {
        try {
            execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
        } catch {
            /* checked below */
        }
        if (listNamespaces().includes(ns)) {
            left.push(ns);
        }
    }
    return left;
}

export function listNamespaces(): string[] {
    try {
        return readdirSync("/run/netns");
    } catch {
        return [];
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Removes namespaces left by an earlier run of this suite whose process no longer exists. */
export function removeStaleNamespaces(): void {
    const stale = listNamespaces().filter((n) => {
        const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(n);
        return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
    });
    if (stale.length > 0) {
        destroyNamespaces(stale);
    }
}
