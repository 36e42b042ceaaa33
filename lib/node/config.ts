/**
 * Stack configuration for node runtime configuration over SSH (`nodes`, `ssh`, `runtimeMode`,
 * `registries`, `allRegistries`, `noProxy`, `clusterCidrs`, `mirrorEndpoint`, `rollout`).
 *
 * {@link parseNodeConfig} validates the plain config values and fails with a ConfigError that
 * names the key. It is pure: SSH private keys and passwords stay plain text here (never in an
 * error); the Pulumi edge (./pulumi.ts) wraps them in `pulumi.secret`, and every component
 * that uses them sends them only inside a secret SSH connection.
 */
import { BlockList } from "net";
import {
    expectObject,
    expectString,
    fail,
    failSecret,
    isCidr,
    hostAllowed,
    isHost,
    isHostName,
    isIPv4,
    isIPv6,
    isDnsName,
    isPlainObject,
    optArray,
    optBool,
    optEnum,
    optInt,
    optObject,
    optString,
} from "../config/validate";
import {
    EffectiveHostKeyPolicy,
    HOST_KEY_POLICIES,
    parseHostKey,
    parseKnownHosts,
    resolveHostKeys,
} from "../remote/hostKeys";

export type NodeRuntimeKind = "containerd" | "docker";
export type RuntimeMode = "proxy" | "mirror";
export type MirrorEndpoint = "loadBalancer" | "local";

/** The config keys read by {@link parseNodeConfig}. */
export const NODE_CONFIG_KEYS = [
    "nodes",
    "ssh",
    "runtimeMode",
    "registries",
    "allRegistries",
    "noProxy",
    "clusterCidrs",
    "mirrorEndpoint",
    "rollout",
] as const;

/** SSH user when neither `ssh.user` nor the node's `user` is set (Huawei Cloud nodes log in as root). */
export const DEFAULT_SSH_USER = "root";
/** SSH port of nodes and bastion. */
export const DEFAULT_SSH_PORT = 22;
/** Runtime of a node without `runtime`. */
export const DEFAULT_NODE_RUNTIME: NodeRuntimeKind = "containerd";
/** The seed document's HTTP_PROXY method. */
export const DEFAULT_RUNTIME_MODE: RuntimeMode = "proxy";
/** Pull through the proxy LoadBalancer's address. */
export const DEFAULT_MIRROR_ENDPOINT: MirrorEndpoint = "loadBalancer";
/**
 * Runtimes restarted at the same time by default: small enough that a bad change never takes
 * more than a handful of nodes' runtimes down, large enough that 100 nodes take 20 rounds.
 */
export const DEFAULT_MAX_PARALLEL = 5;
/** Upper bound of `rollout.maxParallel`. */
export const MAX_MAX_PARALLEL = 1000;
/** Always in NO_PROXY: local traffic and in-cluster names never go through the proxy. */
export const DEFAULT_NO_PROXY: readonly string[] = ["localhost", "127.0.0.1", "127.0.0.0/8", ".cluster.local", ".svc"];

/** One entry of `nodes` (or of `nodesFromStack`), defaults filled in. */
export interface NodeEntry {
    /** Resource name part and output name. Default: the host. */
    name: string;
    /** IP address or DNS name the node is reached at over SSH. Required. */
    host: string;
    /** SSH port. Default {@link DEFAULT_SSH_PORT} (22). */
    port: number;
    /** SSH user; any user but root runs the scripts through `sudo -n`. Default: `ssh.user`. */
    user: string;
    /** The node's container runtime. Default {@link DEFAULT_NODE_RUNTIME} (`containerd`). */
    runtime: NodeRuntimeKind;
    /** The public host key the connection pins (`hostKey`, else from `ssh.knownHosts`). */
    hostKey?: string;
    /**
     * The node no longer exists (CCE replaced or scaled it away). Nothing runs on it: its command
     * stays in the stack's state unchanged and retained, so that removing the entry later drops
     * it without a restore over SSH. Default false.
     */
    gone: boolean;
}

/** The nodes that exist (not `gone`), in config order: the ones that are configured and checked. */
export function activeNodes(nodes: readonly NodeEntry[]): NodeEntry[] {
    return nodes.filter((n) => !n.gone);
}

/**
 * `ssh.bastion`: a jump host. `S` is the type of secret values: plain text as parsed, a Pulumi
 * secret once loaded by the stack (./pulumi.ts).
 */
export interface BastionConfig<S = string> {
    /** Host of the jump host. Required when `ssh.bastion` is set. */
    host: string;
    /** Its SSH port. Default {@link DEFAULT_SSH_PORT} (22). */
    port: number;
    /** Its SSH user. Default: `ssh.user`. */
    user: string;
    /** Its private key (secret). Default: `ssh.privateKey`. */
    privateKey?: S;
    /** The bastion's public host key, from `ssh.knownHosts`. Default: none (not checked). */
    hostKey?: string;
}

/** `ssh`: how the nodes are reached. `S` as in {@link BastionConfig}. */
export interface SshConfig<S = string> {
    /** Default SSH user of the nodes. Default {@link DEFAULT_SSH_USER} (`root`). */
    user: string;
    /** SSH private key (secret). No default; a key or a password is required when nodes are listed. */
    privateKey?: S;
    /** SSH password (secret), when no key is used. No default. */
    password?: S;
    /** Jump host. Default: none (direct connections). */
    bastion?: BastionConfig<S>;
    /**
     * How host keys are checked (../remote/hostKeys.ts): `pinned` (the default once any key is given),
     * `accept-new-and-report`, or `unchecked` (nothing configured: a warning per node).
     */
    hostKeyPolicy: EffectiveHostKeyPolicy;
}

/** The node settings of the stack, defaults filled in. `S` as in {@link BastionConfig}. */
export interface NodeConfig<S = string> {
    /** The nodes whose runtimes pull through Dragonfly, `nodes` then `nodesFromStack`. Default: none. */
    nodes: NodeEntry[];
    /** SSH settings. Default: user root, no credentials. */
    ssh: SshConfig<S>;
    /** `proxy` (HTTP(S)_PROXY drop-in) or `mirror` (containerd hosts.toml). Default {@link DEFAULT_RUNTIME_MODE} (`proxy`). */
    runtimeMode: RuntimeMode;
    /** Registry hosts routed through Dragonfly (port included when not 443). Default: none. */
    registries: string[];
    /** Mirror mode: every registry goes through Dragonfly (`_default/hosts.toml`). Default false. */
    allRegistries: boolean;
    /** The extra entries of `noProxy` (see {@link buildNoProxy} for the full list). Default: none. */
    noProxy: string[];
    /** The cluster's service and pod CIDRs, added to NO_PROXY. Default: none. */
    clusterCidrs: string[];
    /** Mirror mode: the proxy LoadBalancer or the node's own client. Default {@link DEFAULT_MIRROR_ENDPOINT} (`loadBalancer`). */
    mirrorEndpoint: MirrorEndpoint;
    /**
     * Runtimes restarted at the same time: `maxParallel` lanes, each node after the node
     * `maxParallel` places before it. Default {@link DEFAULT_MAX_PARALLEL} (5).
     */
    rollout: { maxParallel: number };
}

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

function checkUser(key: string, value: unknown): string | undefined {
    const user = optString(key, value);
    if (user !== undefined && !USER.test(user)) {
        fail(key, value, "a Unix user name (letters, digits, _ . -; at most 32 characters)");
    }
    return user;
}

function checkHost(key: string, value: unknown): string {
    const host = expectString(key, value, "a host name or IP address");
    if (!isHost(host)) {
        fail(key, value, hostAllowed("a host name or IP address", host));
    }
    return host;
}

function secretString(key: string, value: unknown, allowed: string): string | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value !== "string" || value.trim() === "") {
        failSecret(key, allowed);
    }
    return value;
}

const PRIVATE_KEY = "an SSH private key in PEM/OpenSSH form (-----BEGIN ... PRIVATE KEY-----), set with --secret";

function privateKey(key: string, value: unknown): string | undefined {
    if (
        value !== undefined &&
        value !== null &&
        (typeof value !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value))
    ) {
        failSecret(key, PRIVATE_KEY);
    }
    return secretString(key, value, PRIVATE_KEY);
}

/** An IPv6 address in its canonical form (lower case, zeros compressed), zone id kept. */
function canonicalIPv6(address: string): string {
    const [addr, zone] = address.split("%", 2);
    const canonical = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
    return zone === undefined ? canonical : `${canonical}%${zone}`;
}

/** What makes two hosts the same: IPv6 addresses in canonical form, names in lower case. */
function hostIdentity(host: string): string {
    return isIPv6(host) ? canonicalIPv6(host) : host.toLowerCase();
}

/**
 * The name of a node without `name`: its host; for an IPv6 address, its canonical form with
 * each `:` (and a zone's `%`) written as `-`, and a `0` for a leading or trailing `::`
 * (`fd00::1` gives `fd00--1`, `::1` gives `0--1`), so that it is a valid Pulumi resource name
 * and file name.
 */
export function defaultNodeName(host: string): string {
    if (!isIPv6(host)) {
        return host;
    }
    const name = canonicalIPv6(host).replace(/[^A-Za-z0-9._-]/g, "-");
    return `${name.startsWith("-") ? "0" : ""}${name}${name.endsWith("-") ? "0" : ""}`;
}

/** A registry host as images name it: DNS name or IP, with `:port` when the port is not 443. */
export function isRegistryHost(s: string): boolean {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(s);
    if (!m) {
        return false;
    }
    const host = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
    if (!(isIPv4(host) || (m[1].startsWith("[") && isIPv6(host)) || isHostName(host))) {
        return false;
    }
    if (m[2] !== undefined) {
        const port = Number(m[2]);
        return port >= 1 && port <= 65535 && port !== 443 && String(port) === m[2];
    }
    return true;
}

/** Docker Hub's registry API: where containerd and dockerd send pulls of `docker.io` images. */
const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";

/**
 * Where the runtime sends a registry's pulls: the host it dials (lower case, IPv6 without
 * brackets) and the port (443 unless the entry names one). Images name Docker Hub `docker.io`
 * (and `index.docker.io`, which image references normalise to `docker.io`); both go to
 * registry-1.docker.io.
 */
export function registryEndpoint(registry: string): { host: string; port: number } {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(registry.toLowerCase());
    const name = m === null ? registry.toLowerCase() : m[1].replace(/^\[|\]$/g, "");
    const host = name === "docker.io" || name === "index.docker.io" ? DOCKER_HUB_ENDPOINT : name;
    return { host, port: m?.[2] === undefined ? 443 : Number(m[2]) };
}

/**
 * Does the NO_PROXY entry cover requests to HOST:PORT? Go's rules (golang.org/x/net/http/httpproxy,
 * which containerd and dockerd use): `*` covers everything; a CIDR covers the IP addresses in it
 * (names are not resolved); an IP address (optionally with `:port`) covers itself; a name covers
 * itself and its subdomains, `.name` and `*.name` only its subdomains; a `:port` limits an entry
 * to that port.
 */
function noProxyEntryCovers(raw: string, host: string, port: number): boolean {
    const entry = raw.trim().toLowerCase();
    if (entry === "*") {
        return true;
    }
    const ip = isIPv4(host) || isIPv6(host) ? host : undefined;
    const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
    if (cidr !== null && isCidr(entry)) {
        if (ip === undefined || isIPv4(cidr[1]) !== isIPv4(ip)) {
            return false;
        }
        const list = new BlockList();
        const family = isIPv4(ip) ? "ipv4" : "ipv6";
        list.addSubnet(cidr[1], Number(cidr[2]), family);
        return list.check(ip, family);
    }
    const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    let name = entry;
    let entryPort: string | undefined;
    if (hp !== null && !isIPv6(entry)) {
        name = hp[1].replace(/^\[|\]$/g, "");
        entryPort = hp[2];
    }
    if (entryPort !== undefined && Number(entryPort) !== port) {
        return false;
    }
    if (isIPv4(name) || isIPv6(name)) {
        return ip !== undefined && canonicalIPv6OrSame(name) === canonicalIPv6OrSame(ip);
    }
    const suffix = name.startsWith("*.") ? name.slice(1) : name;
    return suffix.startsWith(".") ? host.endsWith(suffix) : host === suffix || host.endsWith(`.${suffix}`);
}

function canonicalIPv6OrSame(ip: string): string {
    return isIPv6(ip) ? canonicalIPv6(ip) : ip;
}

/**
 * The first entry of `noProxy` (a NO_PROXY list in order) that sends a registry's pulls straight
 * to the registry; `localhost` and loopback addresses never go through a proxy whatever the list
 * says (reported as `loopback`). Undefined when the pulls go through the proxy.
 */
export function noProxyCovering(registry: string, noProxy: readonly string[]): string | undefined {
    const { host, port } = registryEndpoint(registry);
    const covering = noProxy.find((entry) => noProxyEntryCovers(entry, host, port));
    if (covering !== undefined) {
        return covering;
    }
    const loopback = new BlockList();
    loopback.addSubnet("127.0.0.0", 8, "ipv4");
    loopback.addAddress("::1", "ipv6");
    if (
        host === "localhost" ||
        (isIPv4(host) && loopback.check(host, "ipv4")) ||
        (isIPv6(host) && loopback.check(host, "ipv6"))
    ) {
        return "loopback";
    }
    return undefined;
}

/** A NO_PROXY entry: host, IP, CIDR, `.domain` suffix, `*.domain` or `*`. */
function isNoProxyEntry(s: string): boolean {
    if (s === "*" || isCidr(s) || isHost(s)) {
        return true;
    }
    const suffix = s.startsWith("*.") ? s.slice(2) : s.startsWith(".") ? s.slice(1) : undefined;
    if (suffix !== undefined) {
        return isDnsName(suffix);
    }
    const hp = /^(.+):(\d{1,5})$/.exec(s);
    return hp !== null && isHost(hp[1]) && Number(hp[2]) >= 1 && Number(hp[2]) <= 65535;
}

/**
 * An optional list of distinct strings under `key`: each one a string (`what`) that `valid`
 * accepts (else the error says `allowed`), none listed twice (`one` names one in that error).
 */
function stringSet(
    key: string,
    raw: unknown,
    spec: { what: string; one: string; valid: (s: string) => boolean; allowed: string; ignoreCase?: boolean },
): string[] {
    const list = optArray(key, raw, (k, value) => {
        const s = expectString(k, value, spec.what);
        if (!spec.valid(s)) {
            fail(k, value, spec.allowed);
        }
        return s;
    });
    const same = list.map((v) => (spec.ignoreCase ? v.toLowerCase() : v));
    same.forEach((v, i) => {
        const first = same.indexOf(v);
        if (first !== i) {
            fail(
                `${key}[${i}]`,
                list[i],
                `${spec.one} listed once${spec.ignoreCase ? ", ignoring case" : ""} (it is already ${key}[${first}]${list[first] === list[i] ? "" : `, ${JSON.stringify(list[first])}`})`,
            );
        }
    });
    return list;
}

/**
 * Validates the node configuration. `raw` holds the values of {@link NODE_CONFIG_KEYS} as
 * `readKeys` (./pulumi.ts) returns them: structured values parsed from JSON, scalars as text
 * (undefined when unset). `parseNodeConfig({})` is the configuration with every default.
 */
export function parseNodeConfig(raw: Record<string, unknown>): NodeConfig {
    for (const k of Object.keys(raw)) {
        if (!(NODE_CONFIG_KEYS as readonly string[]).includes(k)) {
            fail(k, raw[k], `not a node configuration key; the keys are ${NODE_CONFIG_KEYS.join(", ")}`);
        }
    }
    const sshRaw = optObject("ssh", raw.ssh, [
        "user",
        "privateKey",
        "password",
        "bastion",
        "knownHosts",
        "hostKeyPolicy",
    ]);
    const sshUser = checkUser("ssh.user", sshRaw.user) ?? DEFAULT_SSH_USER;
    const ssh: SshConfig = {
        user: sshUser,
        privateKey: privateKey("ssh.privateKey", sshRaw.privateKey),
        password: secretString("ssh.password", sshRaw.password, "a non-empty password, set with --secret"),
        hostKeyPolicy: "unchecked",
    };
    const knownHosts = parseKnownHosts("ssh.knownHosts", sshRaw.knownHosts);
    const hostKeyPolicy = optEnum("ssh.hostKeyPolicy", sshRaw.hostKeyPolicy, HOST_KEY_POLICIES);
    if (sshRaw.bastion !== undefined && sshRaw.bastion !== null) {
        const b = expectObject("ssh.bastion", sshRaw.bastion, ["host", "port", "user", "privateKey"]);
        ssh.bastion = {
            host: checkHost("ssh.bastion.host", b.host),
            port: optInt("ssh.bastion.port", b.port, 1, 65535) ?? DEFAULT_SSH_PORT,
            user: checkUser("ssh.bastion.user", b.user) ?? sshUser,
            privateKey: privateKey("ssh.bastion.privateKey", b.privateKey) ?? ssh.privateKey,
        };
    }

    const runtimeMode = optEnum("runtimeMode", raw.runtimeMode, ["proxy", "mirror"] as const) ?? DEFAULT_RUNTIME_MODE;

    const nodes = optArray("nodes", raw.nodes, (key, value): NodeEntry => {
        if (typeof value === "string") {
            fail(
                key,
                value,
                'an object such as {"host": "192.168.0.10"} (a node is an object; put its address in host)',
            );
        }
        const n = expectObject(key, value, ["host", "name", "port", "user", "runtime", "hostKey", "gone"]);
        const host = checkHost(`${key}.host`, n.host);
        const given = optString(`${key}.name`, n.name);
        const name = given ?? defaultNodeName(host);
        if (!NODE_NAME.test(name)) {
            fail(
                `${key}.name`,
                given,
                given === undefined
                    ? `a name: required because the host (${host.length} characters) is longer than a name may be; letters, digits, . _ - (at most 63 characters, alphanumeric at both ends)`
                    : "letters, digits, . _ - (at most 63 characters, alphanumeric at both ends)",
            );
        }
        const runtime = optEnum(`${key}.runtime`, n.runtime, ["containerd", "docker"] as const) ?? DEFAULT_NODE_RUNTIME;
        if (runtime === "docker" && runtimeMode === "mirror") {
            fail(
                `${key}.runtime`,
                runtime,
                `"containerd" when runtimeMode is "mirror" (Docker nodes only support runtimeMode "proxy")`,
            );
        }
        const entry: NodeEntry = {
            name,
            host,
            port: optInt(`${key}.port`, n.port, 1, 65535) ?? DEFAULT_SSH_PORT,
            user: checkUser(`${key}.user`, n.user) ?? sshUser,
            runtime,
            gone: optBool(`${key}.gone`, n.gone) ?? false,
        };
        if (n.hostKey !== undefined && n.hostKey !== null) {
            entry.hostKey = parseHostKey(`${key}.hostKey`, n.hostKey);
        }
        return entry;
    });
    nodes.forEach((n, i) => {
        const sameName = nodes.findIndex((o) => o.name.toLowerCase() === n.name.toLowerCase());
        if (sameName !== i) {
            fail(
                `nodes[${i}].name`,
                n.name,
                `a name used once, ignoring case (nodes[${sameName}] has ${JSON.stringify(nodes[sameName].name)}; set name to tell them apart)`,
            );
        }
        const sameHost = nodes.findIndex((o) => hostIdentity(o.host) === hostIdentity(n.host) && o.port === n.port);
        if (sameHost !== i) {
            fail(`nodes[${i}].host`, n.host, `a node listed once (nodes[${sameHost}] is the same host and port)`);
        }
    });
    const hostKeys = resolveHostKeys({
        nodes: nodes.map((n, i) => ({ ...n, key: `nodes[${i}]` })),
        knownHosts,
        policy: hostKeyPolicy,
        bastion: ssh.bastion,
    });
    ssh.hostKeyPolicy = hostKeys.policy;
    nodes.forEach((n, i) => {
        const key = hostKeys.nodes[i];
        if (key !== undefined) {
            n.hostKey = key;
        }
    });
    if (ssh.bastion !== undefined && hostKeys.bastion !== undefined) {
        ssh.bastion.hostKey = hostKeys.bastion;
    }
    if (nodes.length > 0 && ssh.privateKey === undefined && ssh.password === undefined) {
        fail("ssh", raw.ssh, "ssh.privateKey or ssh.password (secrets) when nodes are listed");
    }

    const registries = stringSet("registries", raw.registries, {
        what: "a registry host",
        one: "a registry",
        valid: isRegistryHost,
        ignoreCase: true,
        allowed:
            "a registry host as in image names, e.g. swr.cn-north-4.myhuaweicloud.com or registry.local:5000 (no scheme or path; no :443)",
    });
    registries.forEach((r, i) => {
        if (r.toLowerCase() === "index.docker.io") {
            fail(
                `registries[${i}]`,
                r,
                `docker.io instead: image names with index.docker.io are read as docker.io (whose pulls go to ${DOCKER_HUB_ENDPOINT}), so no pull would use this entry`,
            );
        }
        const endpoint = registryEndpoint(r);
        const first = registries.findIndex((o) => {
            const e = registryEndpoint(o);
            return e.host === endpoint.host && e.port === endpoint.port;
        });
        if (first !== i) {
            fail(
                `registries[${i}]`,
                r,
                `a registry listed once: its pulls go to ${endpoint.host}, as those of registries[${first}], ${JSON.stringify(registries[first])} do (Docker Hub: list docker.io only)`,
            );
        }
    });
    const allRegistries = optBool("allRegistries", raw.allRegistries) ?? false;
    if (allRegistries && runtimeMode !== "mirror") {
        fail(
            "allRegistries",
            raw.allRegistries,
            `false unless runtimeMode is "mirror" (proxy mode routes the listed registries only)`,
        );
    }
    if (nodes.length > 0 && registries.length === 0 && !allRegistries) {
        fail(
            "registries",
            raw.registries,
            "at least one registry host when nodes are listed (or allRegistries: true in mirror mode)",
        );
    }

    const noProxy = stringSet("noProxy", raw.noProxy, {
        what: "a NO_PROXY entry",
        one: "an entry",
        valid: isNoProxyEntry,
        allowed: "a host, IP address, CIDR, .domain suffix or * (one entry per list item, no commas or spaces)",
    });
    const clusterCidrs = stringSet("clusterCidrs", raw.clusterCidrs, {
        what: "a CIDR block",
        one: "a CIDR block",
        valid: isCidr,
        allowed: "a CIDR block such as 10.247.0.0/16 (the cluster's service or pod range)",
    });

    if (runtimeMode === "proxy") {
        refuseRegistriesNoProxyCovers(registries, noProxy, clusterCidrs);
    }

    const mirrorEndpoint =
        optEnum("mirrorEndpoint", raw.mirrorEndpoint, ["loadBalancer", "local"] as const) ?? DEFAULT_MIRROR_ENDPOINT;
    if (mirrorEndpoint === "local" && runtimeMode !== "mirror") {
        fail(
            "mirrorEndpoint",
            raw.mirrorEndpoint,
            `"loadBalancer" unless runtimeMode is "mirror" (proxy mode uses the proxy LoadBalancer)`,
        );
    }

    const rolloutRaw =
        isPlainObject(raw.rollout) || raw.rollout === undefined || raw.rollout === null
            ? raw.rollout
            : fail("rollout", raw.rollout, "an object {maxParallel}");
    const rollout = optObject("rollout", rolloutRaw, ["maxParallel"]);
    const maxParallel = optInt("rollout.maxParallel", rollout.maxParallel, 1, MAX_MAX_PARALLEL) ?? DEFAULT_MAX_PARALLEL;

    return {
        nodes,
        ssh,
        runtimeMode,
        registries,
        allRegistries,
        noProxy,
        clusterCidrs,
        mirrorEndpoint,
        rollout: { maxParallel },
    };
}

/**
 * Proxy mode: a routed registry that NO_PROXY covers would be pulled straight from the registry,
 * with the TLS settings written for the proxy (verification skipped, or only the proxy's CA
 * trusted). Refused, naming the entry that covers it and its key.
 */
function refuseRegistriesNoProxyCovers(
    registries: readonly string[],
    noProxy: readonly string[],
    clusterCidrs: readonly string[],
): void {
    const full = buildNoProxy(noProxy, clusterCidrs);
    registries.forEach((r, i) => {
        const entry = noProxyCovering(r, full);
        if (entry === undefined) {
            return;
        }
        let named: string;
        let remedy: string;
        if (entry === "loopback") {
            named = "the loopback rule (loopback addresses never use a proxy)";
            remedy = "remove the registry from registries (the default entries stay)";
        } else if (noProxy.includes(entry) && !DEFAULT_NO_PROXY.includes(entry) && !clusterCidrs.includes(entry)) {
            named = `noProxy[${noProxy.indexOf(entry)}] (${JSON.stringify(entry)})`;
            remedy = "remove the registry from registries, or the entry from noProxy";
        } else if (clusterCidrs.includes(entry) && !DEFAULT_NO_PROXY.includes(entry)) {
            named = `clusterCidrs[${clusterCidrs.indexOf(entry)}] (${JSON.stringify(entry)})`;
            remedy = "remove the registry from registries, or the block from clusterCidrs";
        } else {
            named = `the default NO_PROXY entry ${JSON.stringify(entry)}`;
            remedy = "remove the registry from registries (the default entries stay)";
        }
        fail(
            `registries[${i}]`,
            r,
            `a registry that NO_PROXY does not cover: ${named} covers it, so its pulls would go straight to the registry with the TLS settings meant for the Dragonfly proxy (verification skipped, or only the proxy's CA trusted); ${remedy}`,
        );
    });
}

/** The final NO_PROXY list: defaults, then clusterCidrs, then noProxy; de-duplicated, first wins. */
export function buildNoProxy(noProxy: readonly string[], clusterCidrs: readonly string[] = []): string[] {
    const out: string[] = [];
    for (const v of [...DEFAULT_NO_PROXY, ...clusterCidrs, ...noProxy]) {
        if (!out.includes(v)) {
            out.push(v);
        }
    }
    return out;
}
