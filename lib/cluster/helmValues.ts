/**
 * The Dragonfly chart's values, generated from the stack config (pure; no engine).
 *
 * Generic over the secret type: the stack passes `pulumi.Output<string>` secrets, the render
 * script and the contract test pass plain strings. Every value path set here is checked against
 * the pinned chart's values.yaml by tests/cluster/chartContract.test.ts.
 */
import { CoreConfig } from "./config";
import { DEFAULT_CHART_VERSION } from "../dragonfly";
import { caFingerprint } from "../config/proxyCa";
import { fail } from "../config/validate";

/** The chart's component names (`<component>.name`), used in object names and pod labels. */
export const COMPONENTS = {
    manager: "manager",
    scheduler: "scheduler",
    seedClient: "seed-client",
    client: "client",
} as const;

/** Username of the client proxy's basic auth, when `proxy.basicAuth` is on. */
export const PROXY_BASIC_AUTH_USERNAME = "dragonfly";

/**
 * `proxy.ca` in the client pods: a Secret of the stack ({@link proxyCaSecretName}) mounted
 * read-only here (not under /etc/dragonfly, the chart's ConfigMap mount), named in
 * `client.config.proxy.server.caCert` and `caKey`.
 */
export const PROXY_CA_MOUNT_PATH = "/etc/dragonfly-cce/proxy-ca";
/** The volume of that Secret in the client pods. */
export const PROXY_CA_VOLUME = "dragonfly-cce-proxy-ca";
/** Pod annotation holding the CA certificate's SHA-256 fingerprint: a new CA rolls the clients. */
export const PROXY_CA_ANNOTATION = "dragonfly-cce/proxy-ca-sha256";
/** The Secret's keys: the CA certificate and its private key. */
export const PROXY_CA_FILES = { certificate: "ca.crt", key: "ca.key" } as const;

/**
 * Chart 1.7.4's `client.extraVolumes` and `client.extraVolumeMounts` (tests/chartContract checks
 * them against its values.yaml): a list value replaces the chart's whole, so ours repeat them.
 */
export const CHART_CLIENT_EXTRA_VOLUMES = [
    { name: "storage", emptyDir: {} },
    { name: "logs", emptyDir: {} },
] as const;
export const CHART_CLIENT_EXTRA_VOLUME_MOUNTS = [
    { name: "storage", mountPath: "/var/lib/dragonfly/" },
    { name: "logs", mountPath: "/var/log/dragonfly/dfdaemon/" },
] as const;

/** The Secret holding `proxy.ca` for a release. */
export function proxyCaSecretName(releaseName: string): string {
    return `${chartFullname(releaseName)}-proxy-ca`;
}

/** Bitnami StatefulSet PVC policy: volumes go with the StatefulSet (uninstall, failed install). */
export const DELETE_WITH_STATEFULSET = {
    enabled: true,
    whenDeleted: "Delete",
    whenScaled: "Retain",
} as const;

/** Length of the generated MySQL and Redis passwords (letters and digits only). */
export const DATABASE_PASSWORD_LENGTH = 32;
/** Length of the generated JWT signing key of the manager. */
export const JWT_KEY_LENGTH = 48;
/** Length of the generated proxy basic-auth password. */
export const PROXY_PASSWORD_LENGTH = 24;

/** The length of each generated secret of {@link ReleaseSecrets}. */
export const SECRET_LENGTHS: Readonly<Record<keyof ReleaseSecrets<unknown>, number>> = {
    mysqlRootPassword: DATABASE_PASSWORD_LENGTH,
    mysqlPassword: DATABASE_PASSWORD_LENGTH,
    redisPassword: DATABASE_PASSWORD_LENGTH,
    jwtKey: JWT_KEY_LENGTH,
    proxyPassword: PROXY_PASSWORD_LENGTH,
};

/** The secrets the chart needs instead of its public defaults. */
export interface ReleaseSecrets<S> {
    mysqlRootPassword: S;
    mysqlPassword: S;
    redisPassword: S;
    /** The manager's JWT signing key (console tokens). */
    jwtKey: S;
    /** Proxy basic-auth password; only used when `proxy.basicAuth` is on. */
    proxyPassword?: S;
}

/** A value tree that may hold secret leaves of type S. */
export type Values<S> = { [key: string]: Values<S> | Values<S>[] | S | string | number | boolean | null };

/**
 * `helm.sh/chart` fullname, as the chart's `dragonfly.fullname` helper computes it: the release
 * name when it contains the chart name, else `<release>-dragonfly`, cut at 63 characters.
 */
export function chartFullname(releaseName: string): string {
    const name = releaseName.includes("dragonfly") ? releaseName : `${releaseName}-dragonfly`;
    return name.slice(0, 63).replace(/-+$/, "");
}

/** Names of the chart's objects for a release. */
export function chartObjectNames(releaseName: string): {
    fullname: string;
    client: string;
    seedClient: string;
    manager: string;
    scheduler: string;
} {
    const full = chartFullname(releaseName);
    return {
        fullname: full,
        client: `${full}-${COMPONENTS.client}`,
        seedClient: `${full}-${COMPONENTS.seedClient}`,
        manager: `${full}-${COMPONENTS.manager}`,
        scheduler: `${full}-${COMPONENTS.scheduler}`,
    };
}

/** Pod labels of a component (the chart sets only these two on pods). */
export function podSelector(releaseName: string, component: keyof typeof COMPONENTS): Record<string, string> {
    return { app: chartFullname(releaseName), component: COMPONENTS[component] };
}

/**
 * `helmValues` paths that hold credentials in chart 1.7.4 and its bitnami MySQL and Redis
 * subcharts (tests/chartContract checks each against their values.yaml). A leaf there is a
 * Pulumi secret whether or not the config value was set with `--secret`. `*` stands for one
 * path segment (a key or a list index), `**` for any number of them.
 */
export const SECRET_VALUE_PATHS: readonly string[] = [
    "manager.config.auth.jwt.key",
    "mysql.auth.rootPassword",
    "mysql.auth.password",
    "mysql.auth.replicationPassword",
    "mysql.initdbScripts.*",
    "redis.auth.password",
    "global.redis.password",
    "externalMysql.password",
    "externalRedis.password",
    "externalRedis.sentinelPassword",
    "client.config.proxy.server.basicAuth.password",
    "seedClient.config.proxy.server.basicAuth.password",
    "**.extraEnvVars.*.value",
];

/** A string leaf whose own key names a credential is a secret under any path. */
const SECRET_KEY_NAME = /pass(word|wd)|token|credential|(secret|private|access|api)[-_]?key/i;

/**
 * When `helmValues` is a secret config value (Pulumi marks the whole key secret when any path of
 * it was set with `--secret`, so which one is unknown), its string leaves are secrets except at
 * these paths, which name images, placement, sizes and log levels; booleans and numbers stay
 * readable unless {@link SECRET_VALUE_PATHS} lists them.
 */
export const PLAIN_UNDER_SECRET_PATHS: readonly string[] = [
    "global.storageClass",
    "global.imageRegistry",
    "**.image.registry",
    "**.image.repository",
    "**.image.tag",
    "**.image.digest",
    "**.image.pullPolicy",
    "**.nodeSelector.*",
    "**.tolerations.**",
    "**.resources.**",
    "**.persistence.size",
    "**.persistence.storageClass",
    "**.persistence.accessModes.*",
    "**.logLevel",
    "**.log.level",
    "mysql.architecture",
    "redis.architecture",
];

/** Whether `path` matches a pattern of {@link SECRET_VALUE_PATHS} or {@link PLAIN_UNDER_SECRET_PATHS}. */
export function matchesValuePath(pattern: string, path: readonly string[]): boolean {
    const match = (p: readonly string[], v: readonly string[]): boolean => {
        if (p.length === 0) {
            return v.length === 0;
        }
        if (p[0] === "**") {
            return match(p.slice(1), v) || (v.length > 0 && match(p, v.slice(1)));
        }
        return v.length > 0 && (p[0] === "*" || p[0] === v[0]) && match(p.slice(1), v.slice(1));
    };
    return match(pattern.split("."), path);
}

/**
 * Whether a `helmValues` leaf is kept as a Pulumi secret: at a credential path, a string under a
 * credential's key name, or (with `configSecret`, the whole key set as a secret) any string not
 * at a plainly harmless path.
 */
export function isSecretHelmValue(path: readonly string[], value: unknown, configSecret: boolean): boolean {
    if (value === null || value === undefined) {
        return false;
    }
    if (SECRET_VALUE_PATHS.some((p) => matchesValuePath(p, path))) {
        return true;
    }
    if (typeof value !== "string") {
        return false;
    }
    const key = [...path].reverse().find((k) => !/^\d+$/.test(k)) ?? "";
    if (SECRET_KEY_NAME.test(key)) {
        return true;
    }
    return configSecret && !PLAIN_UNDER_SECRET_PATHS.some((p) => matchesValuePath(p, path));
}

/**
 * `helmValues` with every secret leaf ({@link isSecretHelmValue}) passed through `secret`, and
 * the dotted paths of those leaves.
 */
export function protectHelmValues<S>(
    helmValues: Record<string, unknown>,
    configSecret: boolean,
    secret: (value: string | number | boolean) => S,
): { values: Record<string, unknown>; secretPaths: string[] } {
    const secretPaths: string[] = [];
    const walk = (v: unknown, path: string[]): unknown => {
        if (Array.isArray(v)) {
            return v.map((x, i) => walk(x, [...path, String(i)]));
        }
        if (isPlainData(v)) {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
        }
        if (isSecretHelmValue(path, v, configSecret) && ["string", "number", "boolean"].includes(typeof v)) {
            secretPaths.push(path.join("."));
            return secret(v as string | number | boolean);
        }
        return v;
    };
    return { values: walk(helmValues, []) as Record<string, unknown>, secretPaths };
}

/** helmValues keys that would rename the chart's objects or labels behind the stack's back. */
const FORBIDDEN_OVERRIDES: ReadonlyArray<{ path: string[]; allowed: string }> = [
    { path: ["nameOverride"], allowed: "not set: object names derive from releaseName" },
    { path: ["fullnameOverride"], allowed: "not set: object names derive from releaseName" },
    ...(["manager", "scheduler", "seedClient", "client"] as const).flatMap((c) => [
        { path: [c, "name"], allowed: `not set: the Services select component=${COMPONENTS[c]}` },
        { path: [c, "fullnameOverride"], allowed: "not set: object names derive from releaseName" },
        { path: [c, "nameOverride"], allowed: "not set: object names derive from releaseName" },
    ]),
    {
        path: ["global", "nodeSelector"],
        allowed: "not set: placement comes from nodePool (the chart applies global.nodeSelector unevenly)",
    },
];

/** True for `{}` literals (not Pulumi Outputs, arrays or class instances). */
function isPlainData(v: unknown): v is Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        return false;
    }
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
}

/** Deep merge: objects merge key by key, everything else (lists included) is replaced. */
export function deepMerge<T>(base: T, over: unknown): T {
    if (!isPlainData(base) || !isPlainData(over)) {
        return over as T;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
        out[k] = k in out ? deepMerge(out[k], v) : v;
    }
    return out as T;
}

/**
 * What the pinned chart's client and seed-client ConfigMap templates render of `<component>.config`:
 * whole sections by `toYaml`, and of `manager` only `addr`. Any other key under it is dropped
 * without a word (found by rendering chart 1.7.4 with real Helm; tests/real/helmRender.test.ts
 * proves every section listed here reaches the rendered config and an unlisted one does not).
 */
export const RENDERED_CONFIG_KEYS: Readonly<
    Record<"client" | "seedClient", Readonly<Record<string, readonly string[] | "*">>>
> = (() => {
    const common = ["host", "server", "download", "upload", "scheduler", "dynconfig", "storage", "gc", "proxy"];
    const rest = ["health", "metrics", "stats", "tracing", "backend", "network"];
    const sections = (names: string[]) => ({
        ...Object.fromEntries(names.map((n) => [n, "*" as const])),
        manager: ["addr"],
    });
    return {
        client: sections([...common, ...rest]),
        seedClient: sections([...common, "seedPeer", ...rest]),
    };
})();

/** `helmValues.<component>.config` keys the pinned chart would drop (only checked for that chart). */
function checkRenderedConfig(cfg: CoreConfig): void {
    if (cfg.chart.path !== undefined || cfg.chart.version !== DEFAULT_CHART_VERSION) {
        return;
    }
    for (const [component, rendered] of Object.entries(RENDERED_CONFIG_KEYS)) {
        const comp = cfg.helmValues[component];
        const config = isPlainData(comp) ? comp.config : undefined;
        if (!isPlainData(config)) {
            continue;
        }
        const allowed = `a section chart ${DEFAULT_CHART_VERSION} renders into the ${component} config (${Object.keys(rendered).join(", ")}; of manager only addr); the chart drops anything else without a word`;
        for (const [section, value] of Object.entries(config)) {
            const keys = rendered[section];
            if (keys === undefined) {
                // The key, not its value, is shown: helmValues may hold credentials.
                fail(`helmValues.${component}.config.${section}`, section, allowed);
            }
            if (keys !== "*" && isPlainData(value)) {
                for (const k of Object.keys(value)) {
                    if (!keys.includes(k)) {
                        fail(
                            `helmValues.${component}.config.${section}.${k}`,
                            k,
                            `one of: ${keys.join(", ")} (the chart renders nothing else of ${component}.config.${section})`,
                        );
                    }
                }
            }
        }
    }
}

function checkOverrides(helmValues: Record<string, unknown>): void {
    for (const { path, allowed } of FORBIDDEN_OVERRIDES) {
        let node: unknown = helmValues;
        for (const p of path) {
            node = isPlainData(node) ? node[p] : undefined;
        }
        if (node !== undefined) {
            fail(`helmValues.${path.join(".")}`, node, allowed);
        }
    }
}

/**
 * The chart values for the stack config; `helmValues` is merged over them last. With `secret`
 * (the stack passes `pulumi.secret`), the `helmValues` leaves that {@link isSecretHelmValue}
 * names go through it, so an override of a generated secret stays one.
 */
export function buildHelmValues<S>(
    cfg: CoreConfig,
    secrets: ReleaseSecrets<S>,
    secret?: (value: string | number | boolean) => S,
): Values<S> {
    checkOverrides(cfg.helmValues);
    checkRenderedConfig(cfg);
    const nodeSelector = { [cfg.nodePoolLabelKey]: cfg.nodePool };
    const tolerations = cfg.nodePoolTolerations.map((t) => ({ ...t }));
    const placement = (): Values<S> => ({
        nodeSelector: { ...nodeSelector },
        tolerations: tolerations.map((t) => ({ ...t })),
    });

    const global: Values<S> = { storageClass: cfg.storageClass };
    if (cfg.imageRegistry !== undefined) {
        global.imageRegistry = cfg.imageRegistry;
    }
    if (cfg.imagePullSecrets.length > 0) {
        global.imagePullSecrets = cfg.imagePullSecrets.map((name) => ({ name }));
    }

    const proxyServer: Values<S> = { port: cfg.proxy.port };
    if (cfg.proxy.basicAuth) {
        if (secrets.proxyPassword === undefined) {
            throw new Error("buildHelmValues: proxy.basicAuth is on but no proxy password was given");
        }
        proxyServer.basicAuth = { username: PROXY_BASIC_AUTH_USERNAME, password: secrets.proxyPassword };
    }

    const client: Values<S> = { enable: true, ...placement(), config: { proxy: { server: proxyServer } } };
    const ca = cfg.proxy.ca;
    if (ca !== undefined) {
        proxyServer.caCert = `${PROXY_CA_MOUNT_PATH}/${PROXY_CA_FILES.certificate}`;
        proxyServer.caKey = `${PROXY_CA_MOUNT_PATH}/${PROXY_CA_FILES.key}`;
        client.podAnnotations = { [PROXY_CA_ANNOTATION]: caFingerprint(ca.certificate) };
    }

    const retention = (): Values<S> =>
        cfg.deleteVolumesOnUninstall ? { persistentVolumeClaimRetentionPolicy: { ...DELETE_WITH_STATEFULSET } } : {};

    const values: Values<S> = {
        global,
        // Chart 1.7.5+ turns these off by default: set them so moving the pin keeps them.
        manager: {
            enable: true,
            ...placement(),
            config: { auth: { jwt: { key: secrets.jwtKey } } },
        },
        scheduler: { enable: true, ...placement() },
        seedClient: { enable: true, ...placement(), persistence: { enable: true } },
        client,
        mysql: {
            enable: true,
            auth: { rootPassword: secrets.mysqlRootPassword, password: secrets.mysqlPassword },
            primary: { ...placement(), ...retention() },
        },
        redis: {
            enable: true,
            auth: { enabled: true, password: secrets.redisPassword },
            master: { ...placement(), ...retention() },
            replica: { ...placement(), ...retention() },
        },
    };
    const helmValues =
        secret === undefined
            ? cfg.helmValues
            : protectHelmValues(cfg.helmValues, cfg.helmValuesSecret === true, secret).values;
    const merged = deepMerge(values, helmValues);
    return ca === undefined ? merged : withProxyCaVolume(merged, cfg.releaseName);
}

/**
 * Adds the proxy CA's volume and mount to the client's lists: the chart's defaults, or the lists
 * `helmValues` gave in their place (a list replaces the chart's whole).
 */
function withProxyCaVolume<S>(values: Values<S>, releaseName: string): Values<S> {
    const client = values.client as Values<S>;
    const list = (key: string, chartDefault: readonly Values<S>[]): Values<S>[] => {
        const given = client[key];
        return Array.isArray(given) ? [...given] : chartDefault.map((v) => deepMerge({}, v));
    };
    const volumes = list("extraVolumes", CHART_CLIENT_EXTRA_VOLUMES);
    const mounts = list("extraVolumeMounts", CHART_CLIENT_EXTRA_VOLUME_MOUNTS);
    volumes.push({
        name: PROXY_CA_VOLUME,
        secret: { secretName: proxyCaSecretName(releaseName), defaultMode: 0o400 },
    });
    mounts.push({ name: PROXY_CA_VOLUME, mountPath: PROXY_CA_MOUNT_PATH, readOnly: true });
    return { ...values, client: { ...client, extraVolumes: volumes, extraVolumeMounts: mounts } };
}
