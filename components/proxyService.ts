import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { CoreConfig } from "../lib/cluster/config";
import { LoadBalancerIngress, proxyAddressFrom, proxyServiceManifest } from "../lib/cluster/services";
import { computedValue } from "./computed";

export interface ProxyServiceArgs {
    /** The parsed core configuration (`proxy.*`, namespace, release name). */
    config: CoreConfig;
    /** What the Service waits for: the Dragonfly release (its pods carry the selected labels). */
    release?: pulumi.Input<pulumi.Resource>;
    /** The namespace the release lives in (an output, so the Service waits for it). */
    namespace: pulumi.Input<string>;
}

/**
 * A LoadBalancer Service in front of the Dragonfly client's HTTP proxy on every Dragonfly node
 * (CCE ELB; private by default). Its address is what runtimes use as their proxy or mirror.
 */
export class ProxyService extends pulumi.ComponentResource {
    /**
     * `HOST:PORT` of the proxy: the fixed `proxy.address` (known in a preview), else the ELB's
     * ingress address (unknown in a preview until the ELB has one).
     */
    public readonly address: pulumi.Output<string>;
    /** `http://HOST:PORT`. */
    public readonly url: pulumi.Output<string>;
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: ProxyServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dragonfly:index:ProxyService", name, {}, opts);
        const manifest = proxyServiceManifest(args.config);
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            { metadata: { ...manifest.metadata, namespace: args.namespace }, spec: manifest.spec },
            { parent: this, dependsOn: args.release === undefined ? [] : [args.release] },
        );
        const fixed = args.config.proxy.address;
        const port = args.config.proxy.port;
        const fixedAddress = proxyAddressFrom(fixed, [], port);
        // A fixed address needs nothing from the provider; it still depends on the Service.
        this.address =
            fixedAddress !== undefined
                ? this.service.urn.apply(() => fixedAddress)
                : this.service.status.apply((status) =>
                      computedValue(
                          proxyAddressFrom(
                              undefined,
                              (status?.loadBalancer?.ingress ?? []) as LoadBalancerIngress[],
                              port,
                          ),
                          this,
                          () =>
                              `Service ${manifest.metadata.name} has no load balancer address yet; ` +
                              "check the ELB annotations, or set dragonfly-cce:proxy.address",
                      ),
                  );
        this.url = pulumi.interpolate`http://${this.address}`;
        this.registerOutputs({ address: this.address, url: this.url });
    }
}
