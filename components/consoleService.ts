import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { httpUrl } from "../lib/remote/hosts";
import { computedValue } from "./computed";

import { CoreConfig } from "../lib/cluster/config";
import { consoleServiceManifest } from "../lib/cluster/services";

export interface ConsoleServiceArgs {
    /** The parsed core configuration (`console.*`, namespace, release name). */
    config: CoreConfig;
    /** What the Service waits for: the Dragonfly release (its pods carry the selected labels). */
    release?: pulumi.Input<pulumi.Resource>;
    /** The namespace the release lives in. */
    namespace: pulumi.Input<string>;
    /** A node address for `url` when `console.nodeAddress` is not set (e.g. a configured node). */
    fallbackNodeAddress?: string;
}

/** A NodePort Service for the Dragonfly manager's console and REST API (port 8080). */
export class ConsoleService extends pulumi.ComponentResource {
    /** The node port Kubernetes assigned (or the configured one); unknown in a preview until assigned. */
    public readonly nodePort: pulumi.Output<number>;
    /**
     * `http://NODE_ADDRESS:NODE_PORT`, or undefined when no node address is known; unknown in a
     * preview while the node port is.
     */
    public readonly url: pulumi.Output<string | undefined>;
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: ConsoleServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:ConsoleService", name, {}, opts);
        const manifest = consoleServiceManifest(args.config);
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            { metadata: { ...manifest.metadata, namespace: args.namespace }, spec: manifest.spec },
            { parent: this, dependsOn: args.release === undefined ? [] : [args.release] },
        );
        // In a preview the provider may hand back the Service as given: no node port assigned yet.
        this.nodePort = this.service.spec.ports.apply((ports) =>
            computedValue(ports?.[0]?.nodePort, this, () => `Service ${manifest.metadata.name} has no node port`),
        );
        const host = args.config.console.nodeAddress ?? args.fallbackNodeAddress;
        if (host === undefined) {
            pulumi.log.warn(
                "consoleUrl is not set: no node address is known. Set dragonfly-cce:console.nodeAddress " +
                    "to the IP of a node (the console listens on every node at the consoleNodePort output).",
                this,
            );
        }
        this.url = this.nodePort.apply((port) => (host === undefined ? undefined : httpUrl(host, port)));
        this.registerOutputs({ nodePort: this.nodePort, url: this.url });
    }
}
