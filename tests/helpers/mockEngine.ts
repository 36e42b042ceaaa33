/**
 * Pulumi mock engine harness for the stack's components.
 *
 * `recordResources()` installs mocks that give every resource plausible provider outputs
 * (a load balancer ingress, an assigned node port, a deployed release status, random results)
 * and returns the list of resources registered, with inputs. Parents and dependsOn are read
 * from a transformation passed to the component under test (`captureOptions`), since the mock
 * monitor does not see resource options.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export const MOCK_LB_IP = "192.168.0.177";
export const MOCK_NODE_PORT = 31080;
/** What the mocked pull check reports. */
export const MOCK_VERIFICATION = {
    image: "swr.cn-north-4.myhuaweicloud.com/library/busybox:latest",
    node: "node-1",
    runtime: "containerd",
    pullSeconds: 3.2,
    removedPreviousCopy: true,
    throughDragonfly: true,
    proxyRequests: 4,
    traffic: { remotePeer: 1000, localPeer: 0, backToSource: 200 },
};

export interface Registered {
    type: string;
    name: string;
    /** Inputs as the engine received them, with secret wrappers removed. */
    inputs: Record<string, any>;
    /** Dotted paths of the inputs that reached the engine as secrets (e.g. "values", "connection"). */
    secretPaths: string[];
    id: string;
}

/** The engine's wire marker of a secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Removes secret wrappers from `v`, recording where they were. */
export function unwrapSecrets(v: any, at: string[] = [], found: string[] = []): any {
    if (Array.isArray(v)) {
        return v.map((x, i) => unwrapSecrets(x, [...at, String(i)], found));
    }
    if (v !== null && typeof v === "object") {
        if (v[SECRET_SIG] === SECRET_VALUE) {
            found.push(at.join("."));
            return unwrapSecrets(v.value, at, found);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x, [...at, k], found)]));
    }
    return v;
}

export interface CapturedOptions {
    type: string;
    name: string;
    parent?: pulumi.Resource;
    dependsOn: pulumi.Resource[];
    resource: pulumi.Resource;
    props: Record<string, any>;
}

/** The mocked RandomPassword result for a resource name: `length` characters, stable. */
export function mockPassword(name: string, length: number): string {
    return `Pw${createHash("sha256").update(name).digest("hex")}`.repeat(2).slice(0, length);
}

/** Outputs of other stacks, as StackReferences to them read them. */
const stackOutputs: Record<string, Record<string, unknown>> = {};

/** Makes `StackReference(name)` see `outputs`. */
export function setStackOutputs(name: string, outputs: Record<string, unknown>): void {
    stackOutputs[name] = outputs;
}

function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const inputs = args.inputs;
    switch (args.type) {
        case "kubernetes:core/v1:Service": {
            const ports = (inputs.spec?.ports ?? []).map((p: any) =>
                inputs.spec?.type === "NodePort" || inputs.spec?.type === "LoadBalancer"
                    ? { ...p, nodePort: p.nodePort ?? MOCK_NODE_PORT }
                    : p,
            );
            const status =
                inputs.spec?.type === "LoadBalancer" ? { loadBalancer: { ingress: [{ ip: MOCK_LB_IP }] } } : {};
            return { ...inputs, spec: { ...inputs.spec, ports }, status };
        }
        case "kubernetes:helm.sh/v3:Release":
            return {
                ...inputs,
                status: {
                    name: inputs.name,
                    namespace: inputs.namespace,
                    version: inputs.version ?? "1.7.4",
                    status: "deployed",
                    revision: 1,
                },
            };
        case "pulumi:pulumi:StackReference":
            return { name: inputs.name, outputs: stackOutputs[inputs.name] ?? {}, secretOutputNames: [] };
        case "command:remote:Command": {
            // What the scripts print: the node script's summary, the pull check's JSON line.
            const create = String(inputs.create ?? "");
            const stdout = create.includes("dragonfly-cce-verify")
                ? `dragonfly-cce-verify: ${JSON.stringify(MOCK_VERIFICATION)}\n`
                : create.includes("reset_password")
                  ? "dragonfly-cce: console password rotated\n"
                  : "dragonfly-cce: changed=-, restarted=no\n";
            return { ...inputs, stdout, stderr: "" };
        }
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: mockPassword(args.name, inputs.length ?? 16) };
        default:
            return { ...inputs };
    }
}

/** Installs the mocks; the returned array fills as resources register. */
export function recordResources(opts: { preview?: boolean } = {}): Registered[] {
    const registered: Registered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
                const id = `${args.name}-id`;
                const secretPaths: string[] = [];
                const inputs = unwrapSecrets(args.inputs, [], secretPaths);
                registered.push({ type: args.type, name: args.name, inputs, secretPaths, id });
                return { id, state: mockState({ ...args, inputs }) };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
                return args.inputs;
            },
        },
        "dragonfly-cce",
        "test",
        opts.preview ?? false,
    );
    return registered;
}

/** A transformation that records every child's type, name, parent and dependsOn. */
export function captureOptions(into: CapturedOptions[]): pulumi.ResourceTransformation {
    return (args) => {
        const dependsOn = args.opts.dependsOn;
        const deps = dependsOn === undefined ? [] : Array.isArray(dependsOn) ? dependsOn : [dependsOn];
        into.push({
            type: args.type,
            name: args.name,
            parent: args.opts.parent,
            dependsOn: deps as pulumi.Resource[],
            resource: args.resource,
            props: args.props,
        });
        return undefined;
    };
}

/** Resolves an Output (or plain value) in a test. */
export function resolve<T>(o: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((res) => pulumi.output(o).apply((v) => res(v as T)));
}

/** Whether an Output is secret. */
export function secret(o: pulumi.Output<unknown>): Promise<boolean> {
    return pulumi.isSecret(o) as Promise<boolean>;
}

/** Waits (bounded) until `done()` holds: registrations reach the mock monitor asynchronously. */
export async function waitFor(done: () => boolean, timeoutMs = 5000): Promise<void> {
    const start = Date.now();
    while (!done()) {
        if (Date.now() - start > timeoutMs) {
            throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 10));
    }
}
