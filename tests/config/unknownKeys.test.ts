/**
 * Unknown top-level keys in the `dragonfly-cce:` namespace (issue 18, item 12): a misspelt key
 * (`runtimemode` for `runtimeMode`) is refused at preview, naming the key and the nearest known
 * one, never showing its value (a misspelt secret key holds a secret); other namespaces are not
 * ours to judge. The same rule holds for `npm run render`'s stack-file reader.
 */
import * as pulumi from "@pulumi/pulumi";

import { checkKnownKeys, STACK_CONFIG_KEYS } from "../../lib/config";
import { loadStackConfig } from "../../lib/config/pulumi";
import { configFromStackFile } from "../../lib/config/stackFile";
import { ConfigError } from "../../lib/config/validate";
import { recordResources } from "../helpers/mockEngine";
import { configErrorOf } from "../helpers/configError";

recordResources({ preview: true });

const BASE = { "dragonfly-cce:nodePool": "test-dragonfly-nodepool" };

async function loadError(config: Record<string, string>, secretKeys: string[] = []): Promise<ConfigError> {
    pulumi.runtime.setAllConfig({ ...BASE, ...config }, secretKeys);
    try {
        await Promise.resolve(loadStackConfig());
    } catch (e) {
        if (e instanceof ConfigError) {
            return e;
        }
        throw e;
    }
    throw new Error("expected a ConfigError");
}

describe("unknown top-level keys", () => {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    test("a misspelt key is refused at preview, naming it and the nearest known key", async () => {
        const e = await loadError({ "dragonfly-cce:runtimemode": "mirror" });
        expect(e.key).toBe("runtimemode");
        expect(e.value).toBe("a string (value hidden: an unknown key may hold a secret)");
        expect(e.allowed).toMatch(/^no such key; the nearest known key is runtimeMode; the keys of this program are /);
        expect(e.message).toContain("Invalid config dragonfly-cce:runtimemode: got a string");
    });

    test.each([
        ["nodepool", "nodePool"],
        ["registry", "registries"],
        ["helmvalue", "helmValues"],
        ["nodesFromStacks", "nodesFromStack"],
        ["verfy", "verify"],
        ["mirrorEndpont", "mirrorEndpoint"],
        ["kubeContex", "kubeContext"],
        ["sshh", "ssh"],
    ])("%s: the nearest known key is %s", (typo, nearest) => {
        const e = configErrorOf(() => checkKnownKeys([typo]));
        expect(e.key).toBe(typo);
        expect(e.allowed).toContain(`the nearest known key is ${nearest};`);
    });

    test("a misspelt secret key is refused without its value", async () => {
        const secret = "apiVersion: v1\nusers:\n- user: {token: do-not-print-me}\n";
        const e = await loadError({ "dragonfly-cce:kubeconfg": secret }, ["dragonfly-cce:kubeconfg"]);
        expect(e.key).toBe("kubeconfg");
        expect(e.allowed).toContain("the nearest known key is kubeconfig;");
        expect(e.message).not.toContain("do-not-print-me");
    });

    test("a nested key set without --path is refused with the command that sets it", async () => {
        const e = await loadError({ "dragonfly-cce:proxy.port": "4001" });
        expect(e.key).toBe("proxy.port");
        expect(e.allowed).toContain("the nearest known key is proxy;");
        expect(e.allowed).toContain("pulumi config set --path 'dragonfly-cce:proxy.port'");
    });

    test("every known key, and keys of other namespaces, pass", async () => {
        expect(() => checkKnownKeys([...STACK_CONFIG_KEYS])).not.toThrow();
        pulumi.runtime.setAllConfig({
            ...BASE,
            "dragonfly-cce:runtimeMode": "proxy",
            "kubernetes:context": "cce",
            "other-project:runtimemode": "mirror",
        });
        const cfg = await Promise.resolve(loadStackConfig());
        expect(cfg.nodes.runtimeMode).toBe("proxy");
    });

    test("npm run render's stack-file reader refuses the same keys the same way", () => {
        const e = configErrorOf(() =>
            configFromStackFile("config:\n  dragonfly-cce:nodePool: p\n  dragonfly-cce:runtimemode: mirror\n"),
        );
        expect(e.key).toBe("runtimemode");
        expect(e.value).toBe("a string (value hidden: an unknown key may hold a secret)");
        expect(e.allowed).toContain("the nearest known key is runtimeMode;");
        const secure = configErrorOf(() =>
            configFromStackFile("config:\n  dragonfly-cce:nodePool: p\n  dragonfly-cce:sshh:\n    secure: v1:abc\n"),
        );
        expect(secure.key).toBe("sshh");
        expect(secure.message).not.toContain("v1:abc");
    });
});
