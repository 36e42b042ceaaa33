/**
 * `dragonfly-cce:nodeAgent` (docs/agent.md): defaults, every bad value refused at preview naming
 * the key, the value and what is allowed, and the rules across keys (nodes, Docker, mirror mode
 * with the local endpoint, the pull check, basic auth in mirror mode).
 */
import { parseStackConfig, RawStackConfig, STACK_CONFIG_KEYS } from "../../lib/config";
import {
    agentImage,
    agentNodeSelector,
    DEFAULT_AGENT_IMAGE_REPOSITORY,
    DEFAULT_AGENT_IMAGE_TAG,
    DEFAULT_RESYNC_SECONDS,
    durationSeconds,
    parseNodeAgentConfig,
} from "../../lib/agent";
import { show } from "../../lib/config/validate";
import { configErrorOf } from "../helpers/configError";

const BASE: RawStackConfig = {
    nodePool: "df-pool",
    registries: ["swr.cn-north-4.myhuaweicloud.com"],
    ssh: { password: "not-a-real-password" },
};
const DIGEST = `sha256:${"ab".repeat(32)}`;

function stack(raw: RawStackConfig) {
    return parseStackConfig({ ...BASE, ...raw });
}

function agentError(nodeAgent: unknown, raw: RawStackConfig = {}) {
    return configErrorOf(() => stack({ ...raw, nodeAgent }));
}

describe("nodeAgent: defaults", () => {
    test("off when not set, with the documented defaults", () => {
        const a = stack({}).nodeAgent;
        expect(a).toEqual({
            enabled: false,
            tolerations: [{ operator: "Exists" }],
            image: { repository: "library/busybox", tag: "1.37.0" },
            resyncSeconds: 600,
        });
        expect(a.nodeSelector).toBeUndefined();
        expect([DEFAULT_AGENT_IMAGE_REPOSITORY, DEFAULT_AGENT_IMAGE_TAG, DEFAULT_RESYNC_SECONDS]).toEqual([
            "library/busybox",
            "1.37.0",
            600,
        ]);
    });

    test("nodeAgent is a key of the program (the unknown-key check knows it)", () => {
        expect(STACK_CONFIG_KEYS).toContain("nodeAgent");
    });

    test("enabled as the CLI passes it (text) or as JSON", () => {
        expect(stack({ nodeAgent: { enabled: "true" } }).nodeAgent.enabled).toBe(true);
        expect(stack({ nodeAgent: { enabled: true } }).nodeAgent.enabled).toBe(true);
        expect(stack({ nodeAgent: { enabled: "false" } }).nodeAgent.enabled).toBe(false);
    });

    test("a full configuration is kept as given", () => {
        const a = parseNodeAgentConfig({
            enabled: true,
            nodeSelector: { "node-role.example.com/pulls": "dragonfly" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
            image: { repository: "org/tools/busybox", tag: "1.36.1-musl", digest: DIGEST },
            resyncInterval: "1h30m",
        });
        expect(a).toEqual({
            enabled: true,
            nodeSelector: { "node-role.example.com/pulls": "dragonfly" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
            image: { repository: "org/tools/busybox", tag: "1.36.1-musl", digest: DIGEST },
            resyncSeconds: 5400,
        });
    });

    test("an empty tolerations list tolerates nothing (it is not replaced by the default)", () => {
        expect(parseNodeAgentConfig({ tolerations: [] }).tolerations).toEqual([]);
    });
});

describe("nodeAgent: durations", () => {
    test.each([
        ["30s", 30],
        ["90s", 90],
        ["10m", 600],
        ["1h30m", 5400],
        ["2h0m5s", 7205],
        ["24h", 86400],
    ])("%s is %i seconds", (text, seconds) => {
        expect(durationSeconds(text)).toBe(seconds);
        expect(parseNodeAgentConfig({ resyncInterval: text }).resyncSeconds).toBe(seconds);
    });

    test.each([["29s"], ["24h1s"], ["25h"], ["0s"], ["10"], ["10min"], ["1.5h"], ["m"], [""], ["-10m"], [600], [true]])(
        "%p is refused, naming the key, the value and the range",
        (value) => {
            const e = agentError({ resyncInterval: value });
            expect(e.key).toBe("nodeAgent.resyncInterval");
            expect(e.value).toBe(JSON.stringify(value));
            expect(e.allowed).toBe(
                "a duration from 30s to 24h, such as 30s, 10m, 1h30m or 24h (hours h, minutes m, seconds s)",
            );
        },
    );
});

describe("nodeAgent: bad values", () => {
    test("an unknown key is refused, with the keys of nodeAgent", () => {
        const e = agentError({ enable: true });
        expect(e.key).toBe("nodeAgent.enable");
        expect(e.value).toBe("true");
        expect(e.allowed).toBe(
            "no such key; the keys of nodeAgent are enabled, nodeSelector, tolerations, image, resyncInterval",
        );
    });

    test("an unknown key of image is refused", () => {
        const e = agentError({ image: { registry: "swr.example.com" } });
        expect(e.key).toBe("nodeAgent.image.registry");
        expect(e.allowed).toBe("no such key; the keys of nodeAgent.image are repository, tag, digest");
    });

    test("nodeAgent itself must be an object", () => {
        const e = agentError("true");
        expect(e.key).toBe("nodeAgent");
        expect(e.value).toBe('"true"');
        expect(e.allowed).toBe("an object with the keys enabled, nodeSelector, tolerations, image, resyncInterval");
    });

    test("enabled must be a boolean", () => {
        const e = agentError({ enabled: "yes" });
        expect([e.key, e.value, e.allowed]).toEqual(["nodeAgent.enabled", '"yes"', "true or false"]);
    });

    test.each([
        [{ "bad key!": "x" }, "nodeAgent.nodeSelector", '"bad key!"', /valid Kubernetes label keys/],
        [{ "/name": "x" }, "nodeAgent.nodeSelector", '"/name"', /valid Kubernetes label keys/],
        [{ pool: "-bad-" }, "nodeAgent.nodeSelector.pool", '"-bad-"', /a Kubernetes label value/],
        [{ pool: "x".repeat(64) }, "nodeAgent.nodeSelector.pool", `"${"x".repeat(64)}"`, /at most 63 characters/],
        [{ pool: 3 }, "nodeAgent.nodeSelector.pool", "3", /a Kubernetes label value/],
        [["pool"], "nodeAgent.nodeSelector", '["pool"]', /an object of node labels/],
        [{}, "nodeAgent.nodeSelector", "{}", /^at least one node label/],
    ])("nodeSelector %p is refused", (selector, key, value, allowed) => {
        const e = agentError({ nodeSelector: selector });
        expect([e.key, e.value]).toEqual([key, value]);
        expect(e.allowed).toMatch(allowed);
    });

    test("a label value may be empty, as Kubernetes allows", () => {
        expect(parseNodeAgentConfig({ nodeSelector: { "example.com/flag": "" } }).nodeSelector).toEqual({
            "example.com/flag": "",
        });
    });

    test.each([
        [{ operator: "Equal" }, "nodeAgent.tolerations[0].operator", /"Exists" when no key is given/],
        [
            { key: "a", operator: "Exists", value: "v" },
            "nodeAgent.tolerations[0].value",
            /no value when operator is "Exists"/,
        ],
        [
            { key: "a", effect: "NoSchedule", tolerationSeconds: 5 },
            "nodeAgent.tolerations[0].tolerationSeconds",
            /only with effect "NoExecute"/,
        ],
        [{ key: "a", operator: "In" }, "nodeAgent.tolerations[0].operator", /one of "Exists", "Equal"/],
        [
            { key: "a", effect: "Evict" },
            "nodeAgent.tolerations[0].effect",
            /one of "NoSchedule", "PreferNoSchedule", "NoExecute"/,
        ],
        [{ key: "bad key" }, "nodeAgent.tolerations[0].key", /a taint key/],
        [{ key: "a", tolerance: 1 }, "nodeAgent.tolerations[0].tolerance", /no such key/],
    ])("toleration %p is refused as Kubernetes would", (toleration, key, allowed) => {
        const e = agentError({ tolerations: [toleration] });
        expect(e.key).toBe(key);
        expect(e.allowed).toMatch(allowed);
    });

    test("tolerations must be a list", () => {
        const e = agentError({ tolerations: { operator: "Exists" } });
        expect([e.key, e.value]).toEqual(["nodeAgent.tolerations", '{"operator":"Exists"}']);
        expect(e.allowed).toMatch(/^a list of Kubernetes tolerations/);
    });

    test.each([
        ["Library/BusyBox", /lower-case letters/],
        ["busybox:1.37.0", /no tag, no digest/],
        ["busybox@sha256:00", /no tag, no digest/],
        ["/busybox", /lower-case letters/],
        ["swr.cn-north-4.myhuaweicloud.com/library/busybox", /without a registry host .* dragonfly-cce:imageRegistry/],
        ["localhost/busybox", /without a registry host/],
    ])("image.repository %p is refused", (repository, allowed) => {
        const e = agentError({ image: { repository } });
        expect([e.key, e.value]).toEqual(["nodeAgent.image.repository", JSON.stringify(repository)]);
        expect(e.allowed).toMatch(allowed);
    });

    test.each([[".1"], ["-x"], ["a b"], ["x".repeat(129)]])("image.tag %p is refused", (tag) => {
        const e = agentError({ image: { tag } });
        expect([e.key, e.value]).toEqual(["nodeAgent.image.tag", show(tag)]);
        expect(e.allowed).toMatch(/^an image tag/);
    });

    test.each([
        ["sha256:" + "AB".repeat(32)],
        ["sha256:" + "ab".repeat(31)],
        ["sha512:" + "ab".repeat(64)],
        ["ab".repeat(32)],
    ])("image.digest %p is refused", (digest) => {
        const e = agentError({ image: { digest } });
        expect([e.key, e.value]).toEqual(["nodeAgent.image.digest", show(digest)]);
        expect(e.allowed).toBe("sha256:<64 lower-case hex digits>, the image's manifest digest");
    });
});

describe("nodeAgent: the image goes through imageRegistry", () => {
    test("Docker Hub without imageRegistry, the registry's path with it, the digest pinned", () => {
        const image = { repository: "library/busybox", tag: "1.37.0" };
        expect(agentImage(image, undefined)).toBe("docker.io/library/busybox:1.37.0");
        expect(agentImage(image, "swr.cn-north-4.myhuaweicloud.com/mirror")).toBe(
            "swr.cn-north-4.myhuaweicloud.com/mirror/library/busybox:1.37.0",
        );
        expect(agentImage({ ...image, digest: DIGEST }, "registry.local:5000")).toBe(
            `registry.local:5000/library/busybox:1.37.0@${DIGEST}`,
        );
    });
});

describe("nodeAgent: rules across keys", () => {
    const ON = { enabled: true };

    test("the agent with nodes that are not gone is refused, naming them and the way over", () => {
        const e = agentError(ON, { nodes: [{ host: "192.168.0.11" }, { host: "192.168.0.12", gone: true }] });
        expect([e.key, e.value]).toEqual(["nodeAgent.enabled", "true"]);
        expect(e.allowed).toBe(
            "false while nodes lists nodes that are not gone (192.168.0.11): two owners of one node's files would " +
                "undo each other. To move from SSH to the agent: remove the nodes (their restore runs), enable the " +
                "agent, one pulumi up",
        );
    });

    test("gone nodes may stay listed while the agent is on (nothing runs on them)", () => {
        const cfg = stack({ nodeAgent: ON, nodes: [{ host: "192.168.0.12", gone: true }] });
        expect(cfg.nodeAgent.enabled).toBe(true);
        expect(cfg.nodes.nodes.map((n) => n.gone)).toEqual([true]);
    });

    test("nodes from another stack count as nodes", () => {
        const source = { stack: "org/cce-nodes/dev", output: "nodes" };
        const e = configErrorOf(() =>
            parseStackConfig(
                { ...BASE, nodeAgent: ON, nodesFromStack: source },
                { entries: [{ host: "192.168.0.21" }], source },
            ),
        );
        expect(e.key).toBe("nodeAgent.enabled");
        expect(e.allowed).toMatch(/^false while nodes lists nodes that are not gone \(192\.168\.0\.21\)/);
    });

    test("a Docker runtime is refused, saying why the agent is containerd-only", () => {
        const e = agentError(ON, { nodes: [{ host: "192.168.0.11", runtime: "docker", name: "old-docker" }] });
        expect([e.key, e.value]).toEqual(["nodeAgent.enabled", "true"]);
        expect(e.allowed).toBe(
            "false while nodes lists a Docker node (old-docker): the agent configures containerd nodes only, because " +
                "restarting dockerd (without live-restore) kills every container on the node, the agent's own in the " +
                "middle of its apply; Docker nodes stay on the SSH path",
        );
    });

    test("the agent off leaves nodes alone (the SSH path as before)", () => {
        expect(stack({ nodeAgent: { enabled: false }, nodes: [{ host: "192.168.0.11" }] }).nodes.nodes).toHaveLength(1);
    });

    test("mirror mode with the local endpoint: a selector that does not pin the pool is refused", () => {
        const raw = { runtimeMode: "mirror", mirrorEndpoint: "local", registries: ["docker.io"] };
        const e = agentError({ ...ON, nodeSelector: { "kubernetes.io/os": "linux" } }, raw);
        expect([e.key, e.value]).toEqual(["nodeAgent.nodeSelector", '{"kubernetes.io/os":"linux"}']);
        expect(e.allowed).toBe(
            'a selector that includes {"cce.cloud.com/cce-nodepool":"df-pool"} when runtimeMode is "mirror" with ' +
                'mirrorEndpoint "local": containerd then pulls from the Dragonfly client on the node itself, which ' +
                "runs only on the pool's nodes (leave nodeSelector out for that default)",
        );
        // Another pool's value is as wide as no pool at all.
        const other = agentError({ ...ON, nodeSelector: { "cce.cloud.com/cce-nodepool": "other" } }, raw);
        expect(other.key).toBe("nodeAgent.nodeSelector");
        // A custom pool label key is the one that must be pinned.
        const custom = agentError(
            { ...ON, nodeSelector: { "cce.cloud.com/cce-nodepool": "df-pool" } },
            { ...raw, nodePoolLabelKey: "example.com/pool" },
        );
        expect(custom.allowed).toMatch(/^a selector that includes \{"example\.com\/pool":"df-pool"\}/);
    });

    test("mirror mode with the local endpoint: the default and any narrower selector are accepted", () => {
        const raw = { runtimeMode: "mirror", mirrorEndpoint: "local", registries: ["docker.io"] };
        expect(stack({ ...raw, nodeAgent: ON }).nodeAgent.nodeSelector).toBeUndefined();
        const narrower = { "cce.cloud.com/cce-nodepool": "df-pool", "example.com/zone": "az1" };
        expect(stack({ ...raw, nodeAgent: { ...ON, nodeSelector: narrower } }).nodeAgent.nodeSelector).toEqual(
            narrower,
        );
    });

    test("proxy mode and mirror mode through the LoadBalancer take any selector", () => {
        const wide = { "kubernetes.io/os": "linux" };
        expect(stack({ nodeAgent: { ...ON, nodeSelector: wide } }).nodeAgent.nodeSelector).toEqual(wide);
        expect(
            stack({ runtimeMode: "mirror", registries: ["docker.io"], nodeAgent: { ...ON, nodeSelector: wide } })
                .nodeAgent.nodeSelector,
        ).toEqual(wide);
    });

    test("the pull check is refused while the agent is on (it runs over SSH on a node of nodes)", () => {
        const e = agentError(ON, { verify: { image: "nginx:1.27" } });
        expect([e.key, e.value]).toEqual(["verify", '{"image":"nginx:1.27"}']);
        expect(e.allowed).toBe(
            "no pull check while nodeAgent.enabled (leave verify out): the check pulls over SSH on a node of nodes, " +
                "and nodes cannot list nodes while the agent configures them; agentNodes lists the nodes the agent configured",
        );
        // verify without an image is off, and allowed.
        expect(stack({ nodeAgent: ON, verify: {} }).verify).toBeUndefined();
    });

    test("the agent needs registries to route (or allRegistries in mirror mode)", () => {
        const e = agentError(ON, { registries: undefined });
        expect([e.key, e.value]).toEqual(["registries", "nothing (the key is not set)"]);
        expect(e.allowed).toBe(
            "at least one registry host when nodeAgent.enabled (or allRegistries: true in mirror mode): the agent " +
                "routes these registries' pulls through Dragonfly",
        );
        const all = stack({ registries: undefined, runtimeMode: "mirror", allRegistries: true, nodeAgent: ON });
        expect(all.nodes.allRegistries).toBe(true);
        // Off, no registries is fine: nothing is routed.
        expect(stack({ registries: undefined }).nodes.registries).toEqual([]);
    });

    test("basic auth with mirror mode is refused with the agent as it is with nodes", () => {
        const e = agentError(ON, { runtimeMode: "mirror", registries: ["docker.io"], proxy: { basicAuth: true } });
        expect([e.key, e.value]).toEqual(["proxy.basicAuth", "true"]);
        expect(e.allowed).toMatch(/^false when runtimeMode is "mirror"/);
        // Off, nothing uses mirror mode: accepted as before.
        expect(
            stack({ runtimeMode: "mirror", registries: ["docker.io"], proxy: { basicAuth: true } }).core.proxy
                .basicAuth,
        ).toBe(true);
    });
});

describe("agentNodeSelector", () => {
    const pool = { labelKey: "cce.cloud.com/cce-nodepool", name: "df-pool" };
    test("the pool in mirror mode with the local endpoint, every Linux node otherwise, the configured one always", () => {
        expect(agentNodeSelector({}, pool, true)).toEqual({ "cce.cloud.com/cce-nodepool": "df-pool" });
        expect(agentNodeSelector({}, pool, false)).toEqual({ "kubernetes.io/os": "linux" });
        expect(agentNodeSelector({ nodeSelector: { a: "b" } }, pool, false)).toEqual({ a: "b" });
    });
});
