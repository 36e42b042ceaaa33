// Example consumer: reads a dragonfly-cce stack's outputs through a StackReference and publishes
// its proxy to another cluster, as a ConfigMap (for workloads and node agents) and as the text of
// containerd's http-proxy.conf drop-in (for the nodes' runtime).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import {
    containerdDropIn,
    mergeNoProxy,
    NO_PROXY_OUTPUT,
    parseDragonflyOutputs,
    PROXY_ADDRESS_OUTPUT,
    PROXY_CA_OUTPUT,
    PROXY_URL_OUTPUT,
    proxyConfigMapData,
} from "./proxySettings";

const config = new pulumi.Config("dragonfly-consumer");
const dragonflyStack = config.require("dragonflyStack");
const namespace = config.get("namespace") ?? "kube-system";
const extraNoProxy = config.getObject<string[]>("extraNoProxy") ?? [];

const dragonfly = new pulumi.StackReference(dragonflyStack);

// Every output is read with getOutput and checked here, so that a missing or malformed one fails
// as an error of the StackReference, printed as its message (a requireOutput failure is printed
// with every object it references, which takes the CLI a minute).
const proxy = pulumi
    .all([
        dragonfly.getOutput(PROXY_URL_OUTPUT),
        dragonfly.getOutput(PROXY_ADDRESS_OUTPUT),
        dragonfly.getOutput(NO_PROXY_OUTPUT),
        dragonfly.getOutput(PROXY_CA_OUTPUT),
    ])
    .apply(([proxyUrl, proxyAddress, noProxy, proxyCaCertificate]) => {
        try {
            for (const [name, value] of [
                [PROXY_URL_OUTPUT, proxyUrl],
                [PROXY_ADDRESS_OUTPUT, proxyAddress],
            ]) {
                if (value === undefined) {
                    throw new Error(`Required output '${name}' does not exist on stack '${dragonflyStack}'`);
                }
            }
            const p = parseDragonflyOutputs(dragonflyStack, { proxyUrl, proxyAddress, noProxy, proxyCaCertificate });
            return { ...p, noProxy: mergeNoProxy(p.noProxy, extraNoProxy) };
        } catch (e) {
            throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), dragonfly, true);
        }
    });

const configMap = new k8s.core.v1.ConfigMap("dragonfly-proxy", {
    metadata: { name: "dragonfly-proxy", namespace },
    data: proxy.apply(proxyConfigMapData),
});

export const proxyUrl = proxy.proxyUrl;
export const httpProxyConf = proxy.apply(containerdDropIn);
export const configMapName = configMap.metadata.name;
