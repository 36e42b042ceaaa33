/**
 * Node-side scripts that make containerd or Docker pull images through Dragonfly, and undo it.
 *
 * A {@link NodeScriptSpec} in, bash text out. The per-node values sit at the top of each script
 * as shell-quoted variables; the rest is fixed text from real files (lib/node/common.sh, the apply
 * parts or restore.sh, and only the awk programs and edits the node's runtime needs), so a script reads like a
 * hand-written one and the text only changes when the node's own settings change (stable
 * previews). What the scripts guarantee:
 *
 * - Idempotent: files are compared with what they should hold; equal files are not written and
 *   the runtime is not restarted.
 * - Restart only when a file that needs one changed (drop-in, config.toml, daemon.json);
 *   `hosts.toml` files are read by containerd on each pull and need none.
 * - Atomic writes (temp file in the same directory + rename); the original of every file we
 *   write is kept once under `/var/lib/dragonfly-cce/backup` (or a marker that it did not exist).
 * - Health check after a restart (containerd: `ctr plugins ls` shows the CRI plugin `ok`;
 *   Docker: `docker info`); when unhealthy the files this run changed are put back (restore's
 *   too), the runtime restarted, and the script fails with the runtime's own error. An apply
 *   that restarts nothing fails when the runtime is not healthy.
 * - config.toml / daemon.json are always derived from the original file (unless someone
 *   changed the file after us), so a smaller registry list or another mode leaves no stale edits.
 * - Files that a previous run managed but this spec no longer wants are restored.
 */
import { registryEndpoint } from "./config";
import { shq } from "../remote/shell";
import { sourceFile } from "../remote/sourceFile";
import { JSON_AWK, TOML_CONFIG_PATH, TOML_DROP, TOML_INSPECT, TOML_MIGRATE, TOML_READ, TOML_TLS } from "./awk";

export interface NodeScriptSpec {
    runtime: "containerd" | "docker";
    /** mirror is containerd-only; docker always uses proxy. */
    mode: "proxy" | "mirror";
    /** "http://HOST:PORT" of the Dragonfly client proxy. */
    endpoint: string;
    /** Registry hosts, port included when not 443. */
    registries: string[];
    /** Mirror mode: also write certs.d/_default/hosts.toml. */
    allRegistries: boolean;
    /** The complete NO_PROXY list (proxy mode). */
    noProxy: string[];
    /**
     * When true the script reads ONE line "user:password" from stdin and embeds it in the proxy
     * URL; files holding it are mode 0600. Proxy mode only.
     */
    proxyAuth?: boolean;
    /**
     * PEM certificates of the CA the Dragonfly client proxy signs intercepted HTTPS with, then of
     * `proxy.ca.alsoTrust`. containerd nodes in proxy mode trust them for the routed registries
     * (`ca_file`, or `ca` in hosts.toml) instead of skipping TLS verification. containerd in proxy
     * mode only: Docker nodes keep `insecure-registries` (docs/decisions.md, "The proxy's CA").
     */
    proxyCa?: string;
}

/** Where the scripts keep their state on the node. */
export const NODE_STATE_DIR = "/var/lib/dragonfly-cce";
/** The prefix of the summary line the scripts print on stdout. */
export const SUMMARY_PREFIX = "dragonfly-cce:";

const SAFE_VALUE = /^[A-Za-z0-9._:/[\]@%~+-]+$/;
/** PEM certificates, as the config parser leaves them (base64 lines only: safe in a here-document). */
const PEM_CERTIFICATES = /^(-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]+\n)+-----END CERTIFICATE-----\n)+$/;

function checkRuntime(runtime: NodeScriptSpec["runtime"]): void {
    if (runtime !== "containerd" && runtime !== "docker") {
        throw new Error(`unknown runtime ${JSON.stringify(runtime)}`);
    }
}

function checkSpec(spec: NodeScriptSpec): void {
    checkRuntime(spec.runtime);
    if (spec.mode !== "proxy" && spec.mode !== "mirror") {
        throw new Error(`unknown mode ${JSON.stringify(spec.mode)}`);
    }
    if (spec.runtime === "docker" && spec.mode === "mirror") {
        throw new Error("mirror mode is containerd-only; Docker nodes use proxy mode");
    }
    if (spec.mode === "mirror" && spec.proxyAuth) {
        throw new Error("proxy credentials are only used in proxy mode");
    }
    if (spec.proxyCa !== undefined) {
        if (spec.mode !== "proxy" || spec.runtime !== "containerd") {
            throw new Error("the proxy CA is only used by containerd in proxy mode");
        }
        if (!PEM_CERTIFICATES.test(spec.proxyCa)) {
            throw new Error("proxyCa must be PEM certificates");
        }
    }
    if (!/^https?:\/\/[^\s/"'\\]+$/.test(spec.endpoint)) {
        throw new Error(`endpoint must be http://HOST:PORT, got ${JSON.stringify(spec.endpoint)}`);
    }
    for (const v of [...spec.registries, ...spec.noProxy]) {
        if (!SAFE_VALUE.test(v)) {
            throw new Error(`unexpected characters in ${JSON.stringify(v)}`);
        }
    }
    // Two names of one registry would give containerd the same TLS table twice (it does not start).
    const endpoints = spec.registries.map((r) => {
        const e = registryEndpoint(r);
        return `${e.host}:${e.port}`;
    });
    endpoints.forEach((e, i) => {
        const first = endpoints.indexOf(e);
        if (first !== i) {
            throw new Error(
                `registries ${JSON.stringify(spec.registries[first])} and ${JSON.stringify(spec.registries[i])} both go to ${registryEndpoint(spec.registries[i]).host}: list one of them`,
            );
        }
    });
}

function header(spec: Pick<NodeScriptSpec, "runtime">, job: string): string {
    return `#!/usr/bin/env bash
# dragonfly-cce: ${job}
# Generated by the dragonfly-cce Pulumi program; safe to run again.
set -euo pipefail
export LC_ALL=C

RUNTIME=${spec.runtime}
STATE_DIR=${NODE_STATE_DIR}
`;
}

/** The per-node values of the apply script. */
function applyValues(spec: NodeScriptSpec): string {
    const regs = spec.registries.map(shq).join(" ");
    return `MODE=${spec.mode}
ENDPOINT=${shq(spec.endpoint)}
REGISTRIES=(${regs})
${spec.runtime === "containerd" ? `ALL_REGISTRIES=${spec.allRegistries ? "yes" : "no"}\n` : ""}NO_PROXY_LIST=${shq(spec.noProxy.join(","))}
PROXY_AUTH=${spec.proxyAuth ? "yes" : "no"}
${spec.runtime === "containerd" ? proxyCaValue(spec.proxyCa) : ""}`;
}

/** containerd only: the proxy CA's certificates, or none. */
function proxyCaValue(pem: string | undefined): string {
    return pem === undefined ? "PROXY_CA=''\n" : `PROXY_CA=$(cat <<'PEM'\n${pem}PEM\n)\n`;
}

/** The fixed parts (lib/node/*.sh), read once. */
const COMMON = sourceFile(__dirname, "common.sh");
const RESTORE_BODY = sourceFile(__dirname, "restore.sh");

/** A part of the apply script, without the comment that describes the file on its own. */
function applyPart(name: string): string {
    return sourceFile(__dirname, name).replace(/^(#[^\n]*\n)+\n/, "");
}

/** The lines of apply-paths.sh only the containerd edits use (with their comment). */
const CONTAINERD_PATHS = /^DEFAULT_HOSTS_DIR=.*\n|^# With proxy\.ca [^]*?\nPROXY_CA_FILE=.*\n/gm;

/** The apply script's parts by concern, in the order the script carries them. */
const APPLY_PARTS = {
    paths: sourceFile(__dirname, "apply-paths.sh"),
    files: applyPart("files.sh"),
    proxyDropin: applyPart("proxy-dropin.sh"),
    containerd: applyPart("containerd.sh"),
    docker: applyPart("docker.sh"),
    main: applyPart("apply.sh"),
};

/**
 * The apply script's body for a runtime. A Docker node gets no containerd edits; a containerd
 * node keeps the Docker part (configure_docker, uncalled), so its script is the text it was
 * before the split (docs/decisions.md).
 */
function applyBody(runtime: NodeScriptSpec["runtime"]): string {
    const p = APPLY_PARTS;
    if (runtime === "containerd") {
        return [p.paths, p.files, p.proxyDropin, p.containerd, p.docker, p.main].join("\n");
    }
    return [p.paths.replace(CONTAINERD_PATHS, ""), p.files, p.proxyDropin, p.docker, p.main].join("\n");
}

/** `NAME=$(cat <<'AWK' ... AWK)`: an awk program as a shell variable. */
function awkVariable(name: string, program: string): string {
    return `${name}=$(cat <<'AWK'\n${program}AWK\n)\n`;
}

/** The awk programs a node's runtime needs, as shell variables. */
function awkPrograms(runtime: NodeScriptSpec["runtime"]): string {
    if (runtime === "docker") {
        return awkVariable("AWK_DOCKER_JSON", JSON_AWK);
    }
    return [
        awkVariable("AWK_TOML_READ", TOML_READ),
        awkVariable("AWK_TOML_INSPECT", TOML_INSPECT),
        awkVariable("AWK_TOML_TLS", TOML_TLS),
        awkVariable("AWK_TOML_MIGRATE", TOML_MIGRATE),
        awkVariable("AWK_TOML_DROP", TOML_DROP),
        awkVariable("AWK_TOML_CONFIG_PATH", TOML_CONFIG_PATH),
    ].join("\n");
}

/** The apply script: configures the node's runtime for Dragonfly (see the module comment). */
export function applyScript(spec: NodeScriptSpec): string {
    checkSpec(spec);
    const job =
        spec.mode === "mirror"
            ? "point containerd's registry hosts at Dragonfly (mirror mode)"
            : `send ${spec.runtime}'s registry traffic through the Dragonfly proxy (proxy mode)`;
    return `${header(spec, job)}${applyValues(spec)}\n${COMMON}\n${awkPrograms(spec.runtime)}\n${applyBody(spec.runtime)}`;
}

/**
 * The restore script: puts back the original files byte for byte and restarts the runtime. It
 * depends on the runtime only (the kept originals say what to put back).
 */
export function restoreScript(spec: Pick<NodeScriptSpec, "runtime">): string {
    checkRuntime(spec.runtime);
    const job = `undo the Dragonfly configuration of ${spec.runtime} (restore the original files)`;
    return `${header(spec, job)}\n${COMMON}\n${RESTORE_BODY}`;
}
