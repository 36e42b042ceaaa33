import * as path from "path";

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { CoreConfig } from "../lib/cluster/config";
import { CHART_NAME } from "../lib/dragonfly";
import {
    buildHelmValues,
    protectHelmValues,
    PROXY_BASIC_AUTH_USERNAME,
    ReleaseSecrets,
    SECRET_LENGTHS,
} from "../lib/cluster/helmValues";
import { namespaceManifest, proxyCaSecretManifest } from "../lib/cluster/services";
/**
 * The release's Helm post-renderer (lib/cluster/helmPostRender.js: the Dragonfly config files go into
 * Secrets, not ConfigMaps), relative to the working directory: the provider runs Helm in the
 * project's directory, and a relative path is the same input on every checkout.
 */
export const POST_RENDERER = path.relative(process.cwd(), path.resolve(__dirname, "../lib/cluster/helmPostRender.js"));

/** Helm keeps this many revisions of the release (rollback targets). */
export const MAX_HISTORY = 10;

export interface DragonflyReleaseArgs {
    /** The parsed core configuration (namespace, release name, chart pin, placement, storage). */
    config: CoreConfig;
    /**
     * Labels and annotations the namespace gets besides its own (the node agent's Pod Security
     * level, `agentNamespaceMetadata`). Default: none.
     */
    namespaceMetadata?: { labels: Record<string, string>; annotations: Record<string, string> };
}

/**
 * The namespace, the generated secrets, the proxy CA's Secret (with `proxy.ca`) and the
 * Dragonfly Helm release.
 *
 * The release is a real Helm release (`helm list` shows it) installed with `atomic` and
 * `cleanupOnFail`: a failed install is rolled back instead of left half-applied. The namespace
 * belongs to the stack, so `pulumi destroy` removes it and every PVC in it, and the next install
 * starts clean (the [seed document](../README.md#the-seed-document)'s "delete the PVCs before reinstalling" step).
 */
export class DragonflyRelease extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly releaseName: pulumi.Output<string>;
    public readonly chartVersion: pulumi.Output<string>;
    public readonly status: pulumi.Output<string>;
    /** `user:password` of the client proxy's basic auth (secret), when `proxy.basicAuth` is on. */
    public readonly proxyCredentials?: pulumi.Output<string>;
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: DragonflyReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:DragonflyRelease", name, {}, opts);
        const cfg = args.config;

        const nsMetadata = namespaceManifest(cfg).metadata;
        const extra = args.namespaceMetadata;
        const ns = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata:
                    extra === undefined
                        ? nsMetadata
                        : {
                              ...nsMetadata,
                              labels: { ...nsMetadata.labels, ...extra.labels },
                              annotations: { ...extra.annotations },
                          },
            },
            { parent: this },
        );

        const password = (suffix: string, secret: keyof ReleaseSecrets<unknown>) =>
            new random.RandomPassword(
                `${name}-${suffix}`,
                { length: SECRET_LENGTHS[secret], special: false },
                { parent: this },
            );
        const mysqlRoot = password("mysql-root-password", "mysqlRootPassword");
        const mysqlUser = password("mysql-password", "mysqlPassword");
        const redis = password("redis-password", "redisPassword");
        const jwt = password("jwt-key", "jwtKey");
        // `result` is secret in state already; wrapping keeps it secret through every transformation
        // (the rendered values, the proxy credentials) whatever the provider reports.
        const secrets: ReleaseSecrets<pulumi.Output<string>> = {
            mysqlRootPassword: pulumi.secret(mysqlRoot.result),
            mysqlPassword: pulumi.secret(mysqlUser.result),
            redisPassword: pulumi.secret(redis.result),
            jwtKey: pulumi.secret(jwt.result),
        };
        const generated: pulumi.Resource[] = [mysqlRoot, mysqlUser, redis, jwt];
        if (cfg.proxy.basicAuth) {
            const proxy = password("proxy-password", "proxyPassword");
            secrets.proxyPassword = pulumi.secret(proxy.result);
            generated.push(proxy);
            this.proxyCredentials = pulumi.secret(
                pulumi.interpolate`${PROXY_BASIC_AUTH_USERNAME}:${secrets.proxyPassword}`,
            );
        }

        // proxy.ca: the CA certificate and key the client pods mount (the key only ever here).
        const before: pulumi.Resource[] = [ns, ...generated];
        if (cfg.proxy.ca !== undefined) {
            const manifest = proxyCaSecretManifest(cfg, {
                certificate: cfg.proxy.ca.certificate,
                key: pulumi.secret(cfg.proxy.ca.key),
            });
            before.push(
                new k8s.core.v1.Secret(
                    `${name}-proxy-ca`,
                    {
                        ...manifest,
                        // The namespace from the Namespace resource: created after it.
                        metadata: { ...manifest.metadata, namespace: ns.metadata.name },
                    },
                    { parent: this },
                ),
            );
        }

        // Credentials in plain helmValues are secrets from here on, but the stack file shows them.
        if (cfg.helmValuesSecret !== true) {
            const plainCredentials = protectHelmValues(cfg.helmValues, false, (v) => v).secretPaths.sort();
            if (plainCredentials.length > 0) {
                pulumi.log.warn(
                    "helmValues holds credentials in plain config (Pulumi.<stack>.yaml shows them in clear text): " +
                        `${plainCredentials.join(", ")}. They are secrets in the state and the preview; set each with ` +
                        "`pulumi config set --secret --path 'dragonfly-cce:helmValues.<path>'`.",
                    this,
                );
            }
        }

        const chart = cfg.chart.path
            ? { chart: cfg.chart.path }
            : { chart: CHART_NAME, version: cfg.chart.version, repositoryOpts: { repo: cfg.chart.repo } };

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: cfg.releaseName,
                namespace: ns.metadata.name,
                createNamespace: false,
                ...chart,
                values: buildHelmValues(cfg, secrets, (v) => pulumi.secret(v) as pulumi.Output<string>),
                // Helm's atomic implies its wait: with releaseSkipAwait both are off.
                atomic: !cfg.releaseSkipAwait,
                skipAwait: cfg.releaseSkipAwait,
                cleanupOnFail: true,
                waitForJobs: !cfg.releaseSkipAwait,
                timeout: cfg.releaseTimeoutSeconds,
                maxHistory: MAX_HISTORY,
                postrender: POST_RENDERER,
            },
            // Only the generated passwords and keys inside `values` are secrets (each leaf is a
            // pulumi.secret), so a preview shows a changed replica count or nodeSelector in plain.
            // The engine keeps nested secrets secret field by field, and the Helm Release provider
            // marks the same paths of its `values` output secret (tests/stack/coreStack.test.ts, "values").
            { parent: this, dependsOn: before },
        );

        this.namespace = ns.metadata.name;
        this.releaseName = this.release.status.name;
        this.chartVersion = this.release.status.version;
        this.status = this.release.status.status;
        this.registerOutputs({
            namespace: this.namespace,
            releaseName: this.releaseName,
            chartVersion: this.chartVersion,
            status: this.status,
            proxyCredentials: this.proxyCredentials,
        });
    }
}
