/**
 * examples/consumer under the mock engine: it reads a dragonfly-cce stack through a
 * StackReference (the mock plays the referenced stack by giving the `pulumi:pulumi:StackReference`
 * resource an `outputs` state) and turns `proxyUrl`, `proxyAddress` and `noProxy` into a
 * ConfigMap and containerd's http-proxy.conf drop-in.
 */
import { execFile } from "child_process";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { CONSUMER_PROGRAM, installConsumerMocks } from "../helpers/consumerMocks";
import { freshProgram, Registered, resolve } from "../helpers/mockEngine";
import { startEarly, tsNodeArgs } from "../helpers/children";

const PRODUCER = "acme/dragonfly-cce/dev";
/** Outputs as a dragonfly-cce stack exports them (names and types of docs/outputs.md). */
const PRODUCER_OUTPUTS = {
    namespace: "dragonfly-system",
    releaseName: "dragonfly",
    chartVersion: "1.7.4",
    releaseStatus: "deployed",
    proxyAddress: "192.168.0.177:4001",
    proxyUrl: "http://192.168.0.177:4001",
    consoleNodePort: 31080,
    noProxy: "localhost,127.0.0.1,.svc,.cluster.local,10.247.0.0/16",
};

function runConsumer(
    stackOutputs: Record<string, unknown>,
    config: Record<string, string> = {},
): { exports: Record<string, any>; registered: Registered[] } {
    const registered = installConsumerMocks(stackOutputs, {
        "dragonfly-consumer:dragonflyStack": PRODUCER,
        ...config,
    });
    const exports: Record<string, any> = freshProgram(() => require(CONSUMER_PROGRAM));
    return { exports, registered };
}

/**
 * Runs the consumer in a child process against outputs it must refuse; returns the errors the
 * program failed with (see tests/helpers/consumerMocks.ts for why a child process).
 */
function refusals(stackOutputs: Record<string, unknown>): Promise<string[]> {
    const arg = JSON.stringify({ outputs: stackOutputs, config: { "dragonfly-consumer:dragonflyStack": PRODUCER } });
    return new Promise((resolvePromise, reject) => {
        execFile(
            process.execPath,
            tsNodeArgs(path.join(__dirname, "..", "helpers", "consumerMocks.ts"), arg),
            { cwd: path.join(__dirname, "../.."), timeout: 20000 },
            (err, stdout, stderr) => {
                if (err) {
                    reject(new Error(`${err.message}\n${stderr}`));
                    return;
                }
                resolvePromise(JSON.parse(stdout).errors);
            },
        );
    });
}

describe("examples/consumer", () => {
    /** The runs that must be refused, in child processes started together (each test reads its own). */
    const refused: Record<
        "missingProxyUrl" | "proxyAddressNumber" | "proxyUrlNotHttp",
        Promise<string[]>
    > = {} as never;
    beforeAll(() => {
        const { proxyUrl: _dropped, ...broken } = PRODUCER_OUTPUTS;
        refused.missingProxyUrl = startEarly(refusals(broken));
        refused.proxyAddressNumber = startEarly(refusals({ ...PRODUCER_OUTPUTS, proxyAddress: 4001 }));
        refused.proxyUrlNotHttp = startEarly(refusals({ ...PRODUCER_OUTPUTS, proxyUrl: "192.168.0.177:4001" }));
    });

    test("references the configured stack and publishes its proxyUrl, proxyAddress and noProxy", async () => {
        const { exports, registered } = runConsumer(PRODUCER_OUTPUTS, {
            "dragonfly-consumer:extraNoProxy": JSON.stringify(["172.16.0.0/16", ".svc"]),
        });
        expect(await resolve(exports.proxyUrl)).toBe("http://192.168.0.177:4001");
        const refs = registered.filter((r) => r.type === "pulumi:pulumi:StackReference");
        expect(refs.map((r) => r.inputs.name)).toEqual([PRODUCER]);

        const noProxy = "localhost,127.0.0.1,.svc,.cluster.local,10.247.0.0/16,172.16.0.0/16";
        const dropIn = await resolve(exports.httpProxyConf);
        expect(dropIn).toBe(
            "[Service]\n" +
                'Environment="HTTP_PROXY=http://192.168.0.177:4001"\n' +
                'Environment="HTTPS_PROXY=http://192.168.0.177:4001"\n' +
                `Environment="NO_PROXY=${noProxy}"\n`,
        );
        expect(await resolve(exports.configMapName)).toBe("dragonfly-proxy");
        const cm = registered.find((r) => r.type === "kubernetes:core/v1:ConfigMap");
        expect(cm?.inputs.metadata).toEqual({ name: "dragonfly-proxy", namespace: "kube-system" });
        expect(cm?.inputs.data).toEqual({
            HTTP_PROXY: "http://192.168.0.177:4001",
            HTTPS_PROXY: "http://192.168.0.177:4001",
            NO_PROXY: noProxy,
            DRAGONFLY_PROXY_ADDRESS: "192.168.0.177:4001",
            "http-proxy.conf": dropIn,
        });
    });

    test("a NO_PROXY entry with % is escaped in the drop-in (systemd specifiers), kept as it is in the ConfigMap", async () => {
        const { exports, registered } = runConsumer({ ...PRODUCER_OUTPUTS, noProxy: "localhost,fe80::1%eth0" });
        expect(await resolve(exports.httpProxyConf)).toContain('Environment="NO_PROXY=localhost,fe80::1%%eth0"\n');
        await resolve(exports.configMapName);
        const cm = registered.find((r) => r.type === "kubernetes:core/v1:ConfigMap");
        expect(cm?.inputs.data.NO_PROXY).toBe("localhost,fe80::1%eth0");
    });

    test("a producer with proxy.ca: the ConfigMap carries its CA certificate", async () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
        const { exports, registered } = runConsumer({ ...PRODUCER_OUTPUTS, proxyCaCertificate: pem });
        await resolve(exports.configMapName);
        const cm = registered.find((r) => r.type === "kubernetes:core/v1:ConfigMap");
        expect(cm?.inputs.data["dragonfly-proxy-ca.crt"]).toBe(pem);
        expect(await refusals({ ...PRODUCER_OUTPUTS, proxyCaCertificate: "not a certificate" })).toEqual([
            expect.stringContaining("output proxyCaCertificate should be a PEM certificate"),
        ]);
    });

    test("a producer without noProxy (older stacks) gets the fallback list", async () => {
        const { noProxy: _dropped, ...older } = PRODUCER_OUTPUTS;
        const { exports, registered } = runConsumer(older, { "dragonfly-consumer:namespace": "proxy-settings" });
        expect(await resolve(exports.httpProxyConf)).toContain(
            'Environment="NO_PROXY=localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc"\n',
        );
        expect(await resolve(exports.configMapName)).toBe("dragonfly-proxy");
        const cm = registered.find((r) => r.type === "kubernetes:core/v1:ConfigMap");
        expect(cm?.inputs.metadata.namespace).toBe("proxy-settings");
        expect(cm?.inputs.data.NO_PROXY).toBe("localhost,127.0.0.1,127.0.0.0/8,.cluster.local,.svc");
    });

    test("a missing proxyUrl fails with the output's name", async () => {
        const messages = await refused.missingProxyUrl;
        expect(messages.length).toBeGreaterThan(0);
        for (const m of messages) {
            expect(m).toContain(`Required output 'proxyUrl' does not exist on stack '${PRODUCER}'`);
            // Printed as its message under the StackReference, never as an object graph.
            expect(m).toMatch(/^ResourceError: /);
        }
    });

    test("an output of the wrong type fails, naming the stack, the output and the documented type", async () => {
        const messages = await refused.proxyAddressNumber;
        expect(messages.length).toBeGreaterThan(0);
        for (const m of messages) {
            expect(m).toContain(
                `Stack ${PRODUCER}: output proxyAddress should be a string such as 10.0.0.5:4001 ` +
                    "(see dragonfly-cce docs/outputs.md); got 4001",
            );
            expect(m).toMatch(/^ResourceError: /);
        }
    });

    test("a proxyUrl that is not an http URL is refused", async () => {
        const messages = await refused.proxyUrlNotHttp;
        expect(messages.length).toBeGreaterThan(0);
        for (const m of messages) {
            expect(m).toContain(
                `Stack ${PRODUCER}: output proxyUrl should be an http(s) URL without a path; got "192.168.0.177:4001"`,
            );
        }
    });

    test("the stack name is required", () => {
        expect(() => {
            pulumi.runtime.setAllConfig({});
            freshProgram(() => require(CONSUMER_PROGRAM));
        }).toThrow(/dragonfly-consumer:dragonflyStack/);
    });
});
