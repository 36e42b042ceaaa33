import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { CoreConfig } from "../lib/config";
import { ConsoleService } from "./consoleService";
import { DragonflyRelease } from "./dragonflyRelease";
import { ProxyService } from "./proxyService";

export interface DragonflyCceArgs {
    /** The parsed core configuration (see lib/config.ts and the README's config table). */
    core: CoreConfig;
}

/**
 * The whole stack: Dragonfly on a CCE node pool, its two Services, and (when configured) the
 * nodes' runtimes, the console password and the pull check, in dependency order:
 * namespace -> secrets -> release -> services -> nodes -> verification.
 */
export class DragonflyCce extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly releaseName: pulumi.Output<string>;
    public readonly chartVersion: pulumi.Output<string>;
    public readonly releaseStatus: pulumi.Output<string>;
    public readonly proxyAddress: pulumi.Output<string>;
    public readonly proxyUrl: pulumi.Output<string>;
    public readonly consoleNodePort: pulumi.Output<number>;
    public readonly consoleUrl: pulumi.Output<string | undefined>;

    constructor(name: string, args: DragonflyCceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:DragonflyCce", name, {}, opts);
        const cfg = args.core;

        // An explicit provider only when the stack names a kubeconfig or context; otherwise the
        // ambient kubeconfig (KUBECONFIG / ~/.kube/config), as kubectl and helm would use.
        let childOpts: pulumi.ComponentResourceOptions = { parent: this };
        if (cfg.kubeconfig !== undefined || cfg.kubeContext !== undefined) {
            const provider = new k8s.Provider(
                `${name}-k8s`,
                {
                    kubeconfig: cfg.kubeconfig === undefined ? undefined : pulumi.secret(cfg.kubeconfig),
                    context: cfg.kubeContext,
                },
                { parent: this },
            );
            childOpts = { parent: this, providers: { kubernetes: provider } };
        }

        const release = new DragonflyRelease(`${name}`, { config: cfg }, childOpts);
        const serviceArgs = { config: cfg, namespace: release.namespace, release: release.release };
        const proxy = new ProxyService(`${name}-proxy`, serviceArgs, childOpts);
        const consoleSvc = new ConsoleService(`${name}-console`, serviceArgs, childOpts);

        this.namespace = release.namespace;
        this.releaseName = release.releaseName;
        this.chartVersion = release.chartVersion;
        this.releaseStatus = release.status;
        this.proxyAddress = proxy.address;
        this.proxyUrl = proxy.url;
        this.consoleNodePort = consoleSvc.nodePort;
        this.consoleUrl = consoleSvc.url;
        this.registerOutputs({
            namespace: this.namespace,
            releaseName: this.releaseName,
            chartVersion: this.chartVersion,
            releaseStatus: this.releaseStatus,
            proxyAddress: this.proxyAddress,
            proxyUrl: this.proxyUrl,
            consoleNodePort: this.consoleNodePort,
            consoleUrl: this.consoleUrl,
        });
    }
}
