import { parseCoreConfig } from "../../lib/cluster/config";
import {
    consoleServiceManifest,
    elbAnnotations,
    proxyAddressFrom,
    proxyServiceManifest,
    serviceNames,
} from "../../lib/cluster/services";

const cfg = (raw: Record<string, unknown> = {}) => parseCoreConfig({ nodePool: "pool", ...raw });

describe("proxyAddressFrom", () => {
    test("prefers the fixed address, then an ingress IP, then a hostname", () => {
        expect(proxyAddressFrom("10.1.1.1", [{ ip: "192.168.0.177" }], 4001)).toBe("10.1.1.1:4001");
        expect(proxyAddressFrom(undefined, [{ ip: "192.168.0.177" }], 4001)).toBe("192.168.0.177:4001");
        expect(proxyAddressFrom(undefined, [{ hostname: "elb.example.com" }], 4001)).toBe("elb.example.com:4001");
        expect(proxyAddressFrom(undefined, [{}, { ip: "192.168.0.9" }], 4011)).toBe("192.168.0.9:4011");
    });
    test("brackets IPv6 and reports nothing when the ELB has no address yet", () => {
        expect(proxyAddressFrom(undefined, [{ ip: "fd00::5" }], 4001)).toBe("[fd00::5]:4001");
        expect(proxyAddressFrom(undefined, [], 4001)).toBeUndefined();
        expect(proxyAddressFrom(undefined, undefined, 4001)).toBeUndefined();
    });
});

describe("Service manifests", () => {
    test("names follow the release, so two releases never collide", () => {
        expect(serviceNames("dragonfly")).toEqual({
            proxy: "dragonfly-client-proxy",
            console: "dragonfly-manager-console",
        });
        expect(serviceNames("p2p")).toEqual({
            proxy: "p2p-dragonfly-client-proxy",
            console: "p2p-dragonfly-manager-console",
        });
        expect(proxyServiceManifest(cfg({ releaseName: "p2p" })).spec.selector).toEqual({
            app: "p2p-dragonfly",
            component: "client",
        });
    });
    test("a public auto-created ELB passes its spec through as JSON", () => {
        const autocreate = {
            type: "public",
            bandwidth_name: "df",
            bandwidth_size: 5,
            bandwidth_chargemode: "traffic",
            bandwidth_sharetype: "PER",
            eip_type: "5_bgp",
        };
        const a = elbAnnotations(cfg({ proxy: { loadBalancer: { autocreate } } }));
        expect(JSON.parse(a["kubernetes.io/elb.autocreate"])).toEqual(autocreate);
        expect(a["kubernetes.io/elb.id"]).toBeUndefined();
    });
    test("user annotations win over generated ones", () => {
        const a = elbAnnotations(
            cfg({ proxy: { loadBalancer: { annotations: { "kubernetes.io/elb.class": "performance" } } } }),
        );
        expect(a["kubernetes.io/elb.class"]).toBe("performance");
    });
    test("the proxy port moves the Service port and target together", () => {
        expect(proxyServiceManifest(cfg({ proxy: { port: 4011 } })).spec.ports).toEqual([
            { name: "http-proxy", protocol: "TCP", port: 4011, targetPort: 4011 },
        ]);
    });
    test("the console has no node port unless one is configured", () => {
        expect(consoleServiceManifest(cfg()).spec.ports[0].nodePort).toBeUndefined();
        expect(consoleServiceManifest(cfg({ console: { nodePort: 31000 } })).spec.ports[0].nodePort).toBe(31000);
    });
});
