/**
 * The stack configs the real-tool suites render and apply: each is parsed by the program's own
 * parser, so a scenario is exactly what a user's stack file would give.
 */
import * as fs from "fs";
import * as path from "path";

import { stackConfigFromFile } from "../../lib/config/stackFile";
import { StackConfig } from "../../lib/config";
import { stackConfig } from "../helpers/kube/helm";
import { testCertificates } from "../helpers/testCa";

export interface Scenario {
    name: string;
    cfg: StackConfig;
}

const DEV_STACK = path.resolve(__dirname, "../../Pulumi.dev.yaml");

const TAINT = { key: "dedicated", operator: "Equal", value: "dragonfly", effect: "NoSchedule" };

/** Every scenario, in a namespace of its own so that one API server can take them all. */
export function scenarios(): Scenario[] {
    const list: Scenario[] = [
        { name: "defaults", cfg: stackConfig({ nodePool: "dragonfly-pool" }) },
        {
            name: "tolerations, own label key and storage class",
            cfg: stackConfig({
                nodePool: "p2p",
                nodePoolLabelKey: "pool.example.com/name",
                nodePoolTolerations: [TAINT, { key: "spot", operator: "Exists", effect: "NoExecute" }],
                storageClass: "csi-disk-topology",
                namespace: "p2p-tolerations",
            }),
        },
        {
            name: "imageRegistry and imagePullSecrets",
            cfg: stackConfig({
                nodePool: "dragonfly-pool",
                imageRegistry: "swr.cn-north-4.myhuaweicloud.com/dragonfly",
                imagePullSecrets: ["default-secret", "swr-extra"],
                namespace: "p2p-registry",
            }),
        },
        {
            name: "custom release name and proxy port",
            cfg: stackConfig({
                nodePool: "dragonfly-pool",
                releaseName: "p2p",
                namespace: "p2p-release",
                proxy: { port: 4101 },
            }),
        },
        {
            name: "proxy.basicAuth",
            cfg: stackConfig({ nodePool: "dragonfly-pool", namespace: "p2p-auth", proxy: { basicAuth: true } }),
        },
        {
            name: "proxy.ca",
            cfg: stackConfig({
                nodePool: "dragonfly-pool",
                namespace: "p2p-ca",
                proxy: { ca: testCertificates().ca },
            }),
        },
        {
            name: "helmValues overrides",
            cfg: stackConfig({
                nodePool: "dragonfly-pool",
                namespace: "p2p-overrides",
                helmValues: {
                    manager: { replicas: 2 },
                    scheduler: { replicas: 2 },
                    redis: { architecture: "standalone" },
                    // A key inside a section the client config template renders (it drops unknown top-level keys).
                    client: { config: { proxy: { prefetch: false } } },
                },
            }),
        },
        { name: "Pulumi.dev.yaml", cfg: stackConfigFromFile(fs.readFileSync(DEV_STACK, "utf8")) },
    ];
    return list;
}
