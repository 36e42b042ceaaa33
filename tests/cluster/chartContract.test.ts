/**
 * Contract test: every value path the program sets exists in the pinned chart's values.yaml
 * (../shared/fixtures/dragonfly-chart/), so a typo or a chart change cannot silently drop a
 * setting. Keys the chart's templates (or its bitnami subcharts) read but its values.yaml does not
 * list are in ALLOWED_ABSENT, each with the reason.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

import { parseCoreConfig } from "../../lib/cluster/config";
import { DEFAULT_CHART_VERSION } from "../../lib/dragonfly";
import {
    buildHelmValues,
    CHART_CLIENT_EXTRA_VOLUME_MOUNTS,
    CHART_CLIENT_EXTRA_VOLUMES,
    deepMerge,
    matchesValuePath,
    PLAIN_UNDER_SECRET_PATHS,
    SECRET_VALUE_PATHS,
} from "../../lib/cluster/helmValues";
import { testCertificates } from "../helpers/testCa";

/**
 * The shared fixture (beside the checkout, as CI lays it out) and the repository's copy of the
 * whole chart (tests/fixtures/dragonfly-chart-1.7.4, for checkouts without ../shared such as
 * GitHub runners, and for the real-Helm suite).
 */
const SHARED_FIXTURE_DIR = path.resolve(__dirname, "../../../shared/fixtures/dragonfly-chart");
const SHARED_CHART_DIR = path.resolve(__dirname, "../../../shared/fixtures/dragonfly-chart-1.7.4");
const VENDORED_CHART_DIR = path.resolve(__dirname, "../fixtures/dragonfly-chart-1.7.4");
const VENDORED_FIXTURE_DIR = path.join(VENDORED_CHART_DIR, "dragonfly");
const FIXTURE_DIR =
    process.env.DRAGONFLY_CHART_FIXTURE ??
    (fs.existsSync(SHARED_FIXTURE_DIR) ? SHARED_FIXTURE_DIR : VENDORED_FIXTURE_DIR);

const ALLOWED_ABSENT: ReadonlyArray<[string, string]> = [
    // Commented out in values.yaml; the client config template renders client.config verbatim.
    ["client.config.proxy.server.basicAuth", "dfdaemon proxy basic auth (commented example in values.yaml)"],
    ["client.config.proxy.server.caCert", "dfdaemon proxy CA certificate path (commented example in values.yaml)"],
    ["client.config.proxy.server.caKey", "dfdaemon proxy CA key path (commented example in values.yaml)"],
    // bitnami/mysql 11.x subchart values (the dragonfly values.yaml lists only a few mysql keys).
    ["mysql.primary.nodeSelector", "bitnami/mysql primary placement"],
    ["mysql.primary.tolerations", "bitnami/mysql primary placement"],
    ["mysql.primary.persistentVolumeClaimRetentionPolicy", "bitnami/mysql StatefulSet PVC retention"],
    // bitnami/redis 19.x subchart values.
    ["redis.master.nodeSelector", "bitnami/redis master placement"],
    ["redis.master.tolerations", "bitnami/redis master placement"],
    ["redis.master.persistentVolumeClaimRetentionPolicy", "bitnami/redis StatefulSet PVC retention"],
    ["redis.replica.nodeSelector", "bitnami/redis replica placement"],
    ["redis.replica.tolerations", "bitnami/redis replica placement"],
    ["redis.replica.persistentVolumeClaimRetentionPolicy", "bitnami/redis StatefulSet PVC retention"],
];

function loadFixture(file: string): string {
    const p = path.join(FIXTURE_DIR, file);
    if (!fs.existsSync(p)) {
        throw new Error(
            `Chart fixture missing: ${p}. The contract test needs the pinned chart's ${file} ` +
                "(../shared/fixtures/dragonfly-chart/ beside the checkout, or DRAGONFLY_CHART_FIXTURE).",
        );
    }
    return fs.readFileSync(p, "utf8");
}

/** Every file below `dir`, as sorted relative paths. */
function listFiles(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
        .filter((d) => d.isFile())
        .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
        .sort();
}

function isMap(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Paths set by `ours` that the chart's values do not have (a chart map `{}` or a scalar/list
 * in the chart accepts whatever we put under it). */
function unknownPaths(ours: unknown, chart: unknown, at: string[] = []): string[] {
    if (!isMap(ours)) {
        return [];
    }
    const out: string[] = [];
    for (const [k, v] of Object.entries(ours)) {
        const p = [...at, k];
        if (!isMap(chart) || !(k in chart)) {
            out.push(...leafPaths(v, p));
            continue;
        }
        const c = chart[k];
        if (isMap(c) && Object.keys(c).length > 0) {
            out.push(...unknownPaths(v, c, p));
        }
    }
    return out;
}

/** Every leaf path under `v` (maps are descended; lists and scalars are leaves). */
function leafPaths(v: unknown, at: string[]): string[] {
    if (isMap(v) && Object.keys(v).length > 0) {
        return Object.entries(v).flatMap(([k, c]) => leafPaths(c, [...at, k]));
    }
    return [at.join(".")];
}

function allowed(p: string): boolean {
    return ALLOWED_ABSENT.some(([a]) => p === a || p.startsWith(`${a}.`));
}

// Every optional branch on, so every path the program can set is generated.
const everything = buildHelmValues(
    parseCoreConfig({
        nodePool: "test-dragonfly-nodepool",
        nodePoolTolerations: [{ key: "dedicated", operator: "Equal", value: "dragonfly", effect: "NoSchedule" }],
        imageRegistry: "swr.cn-north-4.myhuaweicloud.com/dragonfly",
        imagePullSecrets: ["default-secret"],
        proxy: { basicAuth: true, ca: testCertificates().ca },
    }),
    { mysqlRootPassword: "a", mysqlPassword: "b", redisPassword: "c", jwtKey: "d", proxyPassword: "e" },
);

describe("chart contract (pinned values.yaml)", () => {
    test("the repository's copy of the chart is the shared one, byte for byte", () => {
        if (!fs.existsSync(SHARED_CHART_DIR)) {
            // A checkout without ../shared (e.g. GitHub Actions) has only the copy.
            expect(fs.existsSync(path.join(VENDORED_FIXTURE_DIR, "values.yaml"))).toBe(true);
            return;
        }
        const ours = listFiles(VENDORED_CHART_DIR);
        expect(ours).toEqual(listFiles(SHARED_CHART_DIR));
        expect(ours.length).toBeGreaterThan(100);
        for (const file of ours) {
            expect({
                file,
                same: fs
                    .readFileSync(path.join(VENDORED_CHART_DIR, file))
                    .equals(fs.readFileSync(path.join(SHARED_CHART_DIR, file))),
            }).toEqual({ file, same: true });
        }
        // The values.yaml/Chart.yaml fixture is the same chart.
        for (const file of ["values.yaml", "Chart.yaml"]) {
            expect(fs.readFileSync(path.join(VENDORED_FIXTURE_DIR, file), "utf8")).toBe(
                fs.readFileSync(path.join(SHARED_FIXTURE_DIR, file), "utf8"),
            );
        }
    });

    test("the fixture is the pinned chart version", () => {
        const chart = parse(loadFixture("Chart.yaml"));
        expect(chart.name).toBe("dragonfly");
        expect(chart.version).toBe(DEFAULT_CHART_VERSION);
    });

    test("every value path the program sets exists in the chart, or is allow-listed with a reason", () => {
        const chartValues = parse(loadFixture("values.yaml"));
        const missing = unknownPaths(everything, chartValues).filter((p) => !allowed(p));
        expect(missing).toEqual([]);
    });

    test("the allow-list holds only paths the program really sets and the chart really lacks", () => {
        const chartValues = parse(loadFixture("values.yaml"));
        const absent = unknownPaths(everything, chartValues);
        for (const [entry] of ALLOWED_ABSENT) {
            expect(absent.some((p) => p === entry || p.startsWith(`${entry}.`))).toBe(true);
        }
    });

    test("the keys the facts rely on are where the chart has them", () => {
        const v = parse(loadFixture("values.yaml"));
        expect(v.manager.config.auth.jwt.key).toBe("ZHJhZ29uZmx5Cg==");
        expect(v.mysql.auth.rootPassword).toBe("dragonfly-root");
        expect(v.redis.auth.password).toBe("dragonfly");
        expect(v.client.config.proxy.server.port).toBe(4001);
        expect(v.manager.restPort).toBe(8080);
        expect(v.seedClient.persistence.enable).toBe(true);
        expect(v.client.name).toBe("client");
        expect(v.manager.name).toBe("manager");
    });

    test("the client's default extra volumes are the ones proxy.ca repeats before its own", () => {
        const v = parse(loadFixture("values.yaml"));
        expect(v.client.extraVolumes).toEqual(CHART_CLIENT_EXTRA_VOLUMES);
        expect(v.client.extraVolumeMounts).toEqual(CHART_CLIENT_EXTRA_VOLUME_MOUNTS);
        expect(v.client.podAnnotations).toEqual({});
    });

    test("every credential path and every path shown under a secret helmValues is a value of the chart or a subchart", () => {
        // The bitnami subcharts' values under their names; their globals are the parent's too.
        const sub = (name: string) =>
            parse(fs.readFileSync(path.join(VENDORED_FIXTURE_DIR, "charts", name, "values.yaml"), "utf8"));
        const chart = parse(loadFixture("values.yaml"));
        const [mysql, redis] = [sub("mysql"), sub("redis")];
        const tree = deepMerge({ global: deepMerge(mysql.global, redis.global), mysql, redis }, chart);
        // Every node's path: maps and lists are descended.
        const nodes: string[][] = [];
        const walk = (v: unknown, at: string[]) => {
            nodes.push(at);
            if (isMap(v)) {
                Object.entries(v).forEach(([k, c]) => walk(c, [...at, k]));
            } else if (Array.isArray(v)) {
                v.forEach((c, i) => walk(c, [...at, String(i)]));
            }
        };
        walk(tree, []);
        // Commented examples in values.yaml (the templates render client.config verbatim).
        const commented = [
            "client.config.proxy.server.basicAuth.password",
            "seedClient.config.proxy.server.basicAuth.password",
        ];
        for (const pattern of [...SECRET_VALUE_PATHS, ...PLAIN_UNDER_SECRET_PATHS]) {
            // A trailing `*` (a list item, a map entry) may be absent from an empty default.
            const stem = pattern.replace(/\.\*(\.[^*]*)?$/, "");
            expect({
                pattern,
                found: commented.includes(pattern) || nodes.some((n) => matchesValuePath(stem, n)),
            }).toEqual({
                pattern,
                found: true,
            });
        }
    });
});
