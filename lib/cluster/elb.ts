/**
 * `proxy.loadBalancer.autocreate` (CCE's `kubernetes.io/elb.autocreate`): the fields CCE requires
 * for each kind of ELB, checked at preview time. Pure.
 *
 * - A public ELB (`type: public`) needs an EIP: `bandwidth_name`, `bandwidth_size`,
 *   `bandwidth_sharetype` and `eip_type`.
 * - A dedicated ELB (`elbClass: performance`) needs `available_zone` (a list) and `l4_flavor_name`.
 * - Fields of the other kind are refused: EIP fields on a private ELB, dedicated-only fields on a
 *   shared one. Without these checks the Service sits without an address on the real cluster.
 */
import { fail, isPlainObject, PlainObject } from "../config/validate";

/** Fields a public ELB needs (its EIP and bandwidth). */
export const PUBLIC_ELB_FIELDS = ["bandwidth_name", "bandwidth_size", "bandwidth_sharetype", "eip_type"] as const;
/** Optional EIP field of a public ELB. */
export const PUBLIC_ELB_OPTIONAL_FIELDS = ["bandwidth_chargemode"] as const;
/** Fields a dedicated (performance) ELB needs. */
export const DEDICATED_ELB_FIELDS = ["available_zone", "l4_flavor_name"] as const;
/** Optional fields only a dedicated ELB takes. */
export const DEDICATED_ELB_OPTIONAL_FIELDS = [
    "l7_flavor_name",
    "elb_virsubnet_ids",
    "ipv6_vip_virsubnet_id",
    "vip_subnet_cidr_id",
] as const;
/** CCE's range for `bandwidth_size` (Mbit/s). */
export const BANDWIDTH_SIZE_MIN = 1;
export const BANDWIDTH_SIZE_MAX = 2000;
/** The only share type CCE takes for an auto-created ELB's EIP (dedicated bandwidth). */
export const BANDWIDTH_SHARE_TYPES = ["PER"] as const;
export const BANDWIDTH_CHARGE_MODES = ["bandwidth", "traffic"] as const;

const KEY = "proxy.loadBalancer.autocreate";

function nonEmptyString(key: string, value: unknown, allowed: string): string {
    if (typeof value !== "string" || value.trim() === "") {
        fail(key, value, allowed);
    }
    return value;
}

/**
 * Checks an autocreate object for `elbClass`; returns it with `bandwidth_size` as a number (the
 * CLI may hand it over as text). Errors name the field, e.g.
 * `proxy.loadBalancer.autocreate.bandwidth_size: got nothing (the key is not set); allowed: ...`.
 */
export function checkElbAutocreate(autocreate: PlainObject, elbClass: "union" | "performance"): PlainObject {
    if (!isPlainObject(autocreate)) {
        fail(KEY, autocreate, 'an object such as {"type": "inner"} (kubernetes.io/elb.autocreate)');
    }
    const type = autocreate.type;
    if (type !== "inner" && type !== "public") {
        fail(`${KEY}.type`, type, '"inner" (private ELB) or "public"');
    }
    const out: PlainObject = { ...autocreate };
    const dedicated = elbClass === "performance";

    const publicFields: readonly string[] = [...PUBLIC_ELB_FIELDS, ...PUBLIC_ELB_OPTIONAL_FIELDS];
    const dedicatedFields: readonly string[] = [...DEDICATED_ELB_FIELDS, ...DEDICATED_ELB_OPTIONAL_FIELDS];
    for (const field of Object.keys(autocreate)) {
        if (type === "inner" && publicFields.includes(field)) {
            fail(
                `${KEY}.${field}`,
                autocreate[field],
                'not set on a private ELB (type "inner" has no EIP); set type "public" for an internet-facing ELB',
            );
        }
        if (!dedicated && dedicatedFields.includes(field)) {
            fail(
                `${KEY}.${field}`,
                autocreate[field],
                'not set on a shared ELB (elbClass "union"); it belongs to a dedicated ELB: set proxy.loadBalancer.elbClass "performance"',
            );
        }
    }

    if (type === "public") {
        const why = 'required for a public ELB (type "public")';
        nonEmptyString(`${KEY}.bandwidth_name`, autocreate.bandwidth_name, `a bandwidth name; ${why}`);
        const size = autocreate.bandwidth_size;
        const n = typeof size === "string" && /^\d+$/.test(size.trim()) ? Number(size) : size;
        if (typeof n !== "number" || !Number.isInteger(n) || n < BANDWIDTH_SIZE_MIN || n > BANDWIDTH_SIZE_MAX) {
            fail(
                `${KEY}.bandwidth_size`,
                size,
                `an integer from ${BANDWIDTH_SIZE_MIN} to ${BANDWIDTH_SIZE_MAX} (Mbit/s); ${why}`,
            );
        }
        out.bandwidth_size = n;
        if (!(BANDWIDTH_SHARE_TYPES as readonly unknown[]).includes(autocreate.bandwidth_sharetype)) {
            fail(`${KEY}.bandwidth_sharetype`, autocreate.bandwidth_sharetype, `"PER" (dedicated bandwidth); ${why}`);
        }
        nonEmptyString(`${KEY}.eip_type`, autocreate.eip_type, `an EIP type such as "5_bgp" or "5_sbgp"; ${why}`);
        if (
            autocreate.bandwidth_chargemode !== undefined &&
            !(BANDWIDTH_CHARGE_MODES as readonly unknown[]).includes(autocreate.bandwidth_chargemode)
        ) {
            fail(`${KEY}.bandwidth_chargemode`, autocreate.bandwidth_chargemode, '"bandwidth" or "traffic"');
        }
    }

    if (dedicated) {
        const why = 'required for a dedicated ELB (elbClass "performance")';
        const zones = autocreate.available_zone;
        if (
            !Array.isArray(zones) ||
            zones.length === 0 ||
            !zones.every((z) => typeof z === "string" && /^[a-z0-9-]+$/.test(z))
        ) {
            fail(`${KEY}.available_zone`, zones, `a list of availability zones such as ["cn-north-4a"]; ${why}`);
        }
        nonEmptyString(
            `${KEY}.l4_flavor_name`,
            autocreate.l4_flavor_name,
            `a layer-4 flavor name such as "L4_flavor.elb.s1.small"; ${why}`,
        );
    }
    return out;
}
