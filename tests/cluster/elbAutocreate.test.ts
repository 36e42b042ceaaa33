/**
 * proxy.loadBalancer.autocreate (CCE kubernetes.io/elb.autocreate): the fields CCE requires for a
 * public and for a dedicated ELB, and no fields of the other kind, checked at preview time.
 */
import { parseCoreConfig } from "../../lib/cluster/config";
import { elbAnnotations } from "../../lib/cluster/services";
import { ConfigError } from "../../lib/config/validate";

const PUBLIC = {
    type: "public",
    bandwidth_name: "dragonfly-proxy",
    bandwidth_size: 10,
    bandwidth_sharetype: "PER",
    eip_type: "5_bgp",
};
const DEDICATED_INNER = { type: "inner", available_zone: ["cn-north-4a"], l4_flavor_name: "L4_flavor.elb.s1.small" };

function lb(loadBalancer: Record<string, unknown>) {
    return parseCoreConfig({ nodePool: "p", proxy: { loadBalancer } }).proxy.loadBalancer;
}

function errorOf(loadBalancer: Record<string, unknown>): ConfigError {
    try {
        lb(loadBalancer);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error("accepted");
}

describe("ELB autocreate: accepted shapes (the README's examples)", () => {
    test("a private shared ELB (the default)", () => {
        expect(lb({}).autocreate).toEqual({ type: "inner" });
    });
    test("a public shared ELB with its EIP fields; bandwidth_size given as text becomes a number", () => {
        expect(lb({ autocreate: PUBLIC }).autocreate).toEqual(PUBLIC);
        expect(lb({ autocreate: { ...PUBLIC, bandwidth_size: "10" } }).autocreate).toEqual(PUBLIC);
        const a = elbAnnotations(parseCoreConfig({ nodePool: "p", proxy: { loadBalancer: { autocreate: PUBLIC } } }));
        expect(JSON.parse(a["kubernetes.io/elb.autocreate"])).toEqual(PUBLIC);
    });
    test("a private dedicated ELB with zones and flavor", () => {
        expect(lb({ elbClass: "performance", autocreate: DEDICATED_INNER }).autocreate).toEqual(DEDICATED_INNER);
    });
    test("a public dedicated ELB needs both sets", () => {
        const both = {
            ...PUBLIC,
            available_zone: ["cn-north-4a", "cn-north-4b"],
            l4_flavor_name: "L4_flavor.elb.s2.small",
        };
        expect(lb({ elbClass: "performance", autocreate: both }).autocreate).toEqual(both);
    });
    test("an existing ELB needs no autocreate fields", () => {
        expect(
            lb({ elbClass: "performance", elbId: "5083f225-9bf8-48fa-9c8b-67bd9693c4c0" }).autocreate,
        ).toBeUndefined();
    });
});

describe("ELB autocreate: refused, with the key and the missing field named", () => {
    test.each(["bandwidth_name", "bandwidth_size", "bandwidth_sharetype", "eip_type"])(
        "a public ELB without %s",
        (field) => {
            const autocreate: Record<string, unknown> = { ...PUBLIC };
            delete autocreate[field];
            const e = errorOf({ autocreate });
            expect(e.key).toBe(`proxy.loadBalancer.autocreate.${field}`);
            expect(e.message).toContain("got nothing (the key is not set)");
            expect(e.message).toContain('required for a public ELB (type "public")');
        },
    );

    test("{type: public} alone names its first missing field", () => {
        expect(errorOf({ autocreate: { type: "public" } }).message).toMatch(
            /^Invalid config dragonfly-cce:proxy\.loadBalancer\.autocreate\.bandwidth_name: got nothing/,
        );
    });

    test.each([
        ["bandwidth_size", 0, /an integer from 1 to 2000/],
        ["bandwidth_size", 2001, /an integer from 1 to 2000/],
        ["bandwidth_size", "ten", /got "ten"/],
        ["bandwidth_sharetype", "WHOLE", /"PER"/],
        ["eip_type", "", /an EIP type/],
        ["bandwidth_chargemode", "free", /"bandwidth" or "traffic"/],
    ])("a public ELB with a bad %s (%p)", (field, value, message) => {
        const e = errorOf({ autocreate: { ...PUBLIC, [field]: value } });
        expect(e.key).toBe(`proxy.loadBalancer.autocreate.${field}`);
        expect(e.message).toMatch(message);
    });

    test("elbClass performance with the default {type: inner} names available_zone", () => {
        const e = errorOf({ elbClass: "performance" });
        expect(e.key).toBe("proxy.loadBalancer.autocreate.available_zone");
        expect(e.message).toContain('required for a dedicated ELB (elbClass "performance")');
    });

    test.each([
        ["available_zone", "cn-north-4a"],
        ["available_zone", []],
        ["available_zone", ["CN North 4a"]],
        ["l4_flavor_name", undefined],
        ["l4_flavor_name", " "],
    ])("a dedicated ELB with %s = %p", (field, value) => {
        const autocreate: Record<string, unknown> = { ...DEDICATED_INNER, [field]: value };
        if (value === undefined) {
            delete autocreate[field];
        }
        const e = errorOf({ elbClass: "performance", autocreate });
        expect(e.key).toBe(`proxy.loadBalancer.autocreate.${field}`);
        expect(e.message).toContain("required for a dedicated ELB");
    });

    test.each(["available_zone", "l4_flavor_name", "l7_flavor_name", "elb_virsubnet_ids"])(
        "a shared ELB with the dedicated-only field %s",
        (field) => {
            const e = errorOf({ autocreate: { type: "inner", [field]: "x" } });
            expect(e.key).toBe(`proxy.loadBalancer.autocreate.${field}`);
            expect(e.message).toContain('set proxy.loadBalancer.elbClass "performance"');
        },
    );

    test.each(["bandwidth_name", "bandwidth_size", "eip_type", "bandwidth_chargemode"])(
        "a private ELB with the public-only field %s",
        (field) => {
            const e = errorOf({ autocreate: { type: "inner", [field]: "x" } });
            expect(e.key).toBe(`proxy.loadBalancer.autocreate.${field}`);
            expect(e.message).toContain('type "inner" has no EIP');
        },
    );
});
