/**
 * Pulumi mock engine harness for the stack's components.
 *
 * `recordResources()` installs mocks that give every resource plausible provider outputs
 * (a load balancer ingress, an assigned node port, a deployed release status, random results)
 * and returns the list of resources registered, with inputs. With `providers: "preview"` the
 * providers answer as the real ones do in a preview instead: what they compute on `up` is absent
 * or unknown (see {@link previewState}). Parents and dependsOn are read
 * from a transformation passed to the component under test (`captureOptions`), since the mock
 * monitor does not see resource options.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export const MOCK_LB_IP = "192.168.0.177";
export const MOCK_NODE_PORT = 31080;
/** The host key the mocked nodes report (a real ed25519 public key's text). */
export const MOCK_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFmHNBd3UtBQF1XhUfpfUiWtcgtFyo7TTmKsKpUgsyxU";
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
    /**
     * Dotted paths of the inputs that reached the engine as secrets (e.g. "connection",
     * "values.mysql.auth.password"), read from the wire: the mock monitor's own decoding would
     * lift a nested secret to its top-level property, the real engine keeps it where it is.
     */
    secretPaths: string[];
    /** Dotted paths of the inputs that reached the engine unknown (only in a preview). */
    unknownPaths: string[];
    id: string;
    /** The URN the mock engine gave it, and its parent's ("" for none). */
    urn: string;
    parent: string;
    /** The URNs it depends on (explicit `dependsOn` and the resources its inputs came from). */
    dependencies: string[];
    /** The `retainOnDelete` and `ignoreChanges` resource options, as the engine received them. */
    retainOnDelete: boolean;
    ignoreChanges: string[];
    /** The inputs as serialized for the engine: secrets still wrapped, unknowns as the sentinel. */
    wire: Record<string, any>;
    /** The inputs as the mocks receive them: secrets wrapped, a nested one lifted to its top-level property. */
    received: Record<string, any>;
}

/** The engine's wire value of an unknown string (an id the program does not know yet). */
export const UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** What the engine saw of a registration before the mocks decoded it, by type and name. */
type WireInfo = Omit<Registered, "type" | "name" | "inputs" | "id" | "received">;

/** A registration the engine never serialized (a read skipped in a preview, say). */
const NO_WIRE_INFO: WireInfo = {
    secretPaths: [],
    unknownPaths: [],
    urn: "",
    parent: "",
    dependencies: [],
    retainOnDelete: false,
    ignoreChanges: [],
    wire: {},
};

/** The engine's wire marker of a secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Whether `v` is a secret as the engine's wire form (and the mocks' inputs) carry it. */
export function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

/** Dotted paths in a wire object where the value is unknown (secret or not). */
export function unknownPathsOf(v: any, at: string[] = [], found: string[] = []): string[] {
    if (v === pulumi.runtime.unknownValue) {
        found.push(at.join("."));
    } else if (Array.isArray(v)) {
        v.forEach((x, i) => unknownPathsOf(x, [...at, String(i)], found));
    } else if (v !== null && typeof v === "object") {
        if (v[SECRET_SIG] === SECRET_VALUE) {
            unknownPathsOf(v.value, at, found);
        } else {
            Object.entries(v).forEach(([k, x]) => unknownPathsOf(x, [...at, k], found));
        }
    }
    return found;
}

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
    /** The `additionalSecretOutputs` resource option. */
    additionalSecretOutputs: string[];
}

/** The mocked RandomPassword result for a resource name: `length` characters, stable. */
export function mockPassword(name: string, length: number): string {
    return `Pw${createHash("sha256").update(name).digest("hex")}`.repeat(2).slice(0, length);
}

/** Outputs of other stacks, as StackReferences to them read them, and which of them are secret. */
const stackOutputs: Record<string, Record<string, unknown>> = {};
const stackSecretOutputs: Record<string, string[]> = {};

/** Makes `StackReference(name)` see `outputs`, those named in `secretNames` as secrets. */
export function setStackOutputs(name: string, outputs: Record<string, unknown>, secretNames: string[] = []): void {
    stackOutputs[name] = outputs;
    stackSecretOutputs[name] = secretNames;
}

/**
 * How the mocked providers answer:
 * - `up`: as after `pulumi up`, every computed field there;
 * - `preview`: as the real providers answer the preview of a new stack (see {@link previewState});
 * - `dryRun`: the same, except that the Kubernetes API server accepted the Services' server-side
 *   dry run (their namespace exists): no node port, an empty `status.loadBalancer`.
 */
export type ProviderMode = "up" | "preview" | "dryRun";

/**
 * What the real providers return for a resource they would create, in a preview (merged over the
 * echoed inputs). A property absent here resolves as unknown in a preview (the SDK's
 * `resolveProperties`); a field absent inside a returned object stays `undefined`.
 * - kubernetes Service (provider.go `Create`): the inputs as given when the server-side dry run
 *   cannot run (the namespace is not created yet), so `spec.ports[].nodePort` is absent unless
 *   configured and `status` is unknown; after a dry run (`dryRun`) `status` is
 *   `{loadBalancer: {}}`: no ingress yet.
 * - helm Release (helm_release.go `checkpointRelease`): `status` and `resourceNames` computed.
 * - command Command: `stdout`, `stderr` unknown (nothing ran).
 * - random RandomPassword, RandomId: `result`, `hex`, `b64Std`... unknown; `keepers` echoed.
 * - StackReference: read in a preview too, as after an up.
 */
export function previewState(args: pulumi.runtime.MockResourceArgs, providers: ProviderMode): Record<string, any> {
    switch (args.type) {
        case "kubernetes:core/v1:Service":
            return providers === "dryRun" ? { status: { loadBalancer: {} } } : {};
        case "kubernetes:helm.sh/v3:Release":
            return { status: pulumi.runtime.unknownValue, resourceNames: pulumi.runtime.unknownValue };
        case "pulumi:pulumi:StackReference":
            return mockState(args);
        default:
            return {};
    }
}

/** What the provider computes (merged over the echoed inputs). */
export function mockState(args: pulumi.runtime.MockResourceArgs, providers: ProviderMode = "up"): Record<string, any> {
    if (providers !== "up") {
        return previewState(args, providers);
    }
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
            return { spec: { ...inputs.spec, ports }, status };
        }
        case "kubernetes:helm.sh/v3:Release":
            return {
                status: {
                    name: inputs.name,
                    namespace: inputs.namespace,
                    version: inputs.version ?? "1.7.4",
                    status: "deployed",
                    revision: 1,
                },
            };
        case "pulumi:pulumi:StackReference":
            return {
                name: inputs.name,
                outputs: stackOutputs[inputs.name] ?? {},
                secretOutputNames: stackSecretOutputs[inputs.name] ?? [],
            };
        case "command:remote:Command": {
            // What the scripts print: the node script's summary, the pull check's JSON line.
            const create = String(inputs.create ?? "");
            const stdout = create.includes("dragonfly-cce-hostkey")
                ? `dragonfly-cce-hostkey: ${MOCK_HOST_KEY}\n`
                : create.includes("dragonfly-cce-verify")
                  ? `dragonfly-cce-verify: ${JSON.stringify(MOCK_VERIFICATION)}\n`
                  : create.includes("reset_password")
                    ? "dragonfly-cce: console password rotated\n"
                    : "dragonfly-cce: changed=-, restarted=no\n";
            return { stdout, stderr: "" };
        }
        case "random:index/randomPassword:RandomPassword":
            return { result: mockPassword(args.name, inputs.length ?? 16) };
        default:
            return {};
    }
}

export interface MockOptions {
    /** The program runs as in `pulumi preview` (`isDryRun`). Default false. */
    preview?: boolean;
    /** How the providers answer (see {@link ProviderMode}). Default `up`. */
    providers?: ProviderMode;
    /** The project and stack names (URNs, `pulumi.getProject()`). Default `dragonfly-cce` and `test`. */
    project?: string;
    stack?: string;
    /**
     * Changes what a provider returns, e.g. to play a Service whose ELB never got an address, or
     * replaces it (a model of the engine's state across runs may answer asynchronously). `args`
     * carries the inputs with their secret wrappers removed; `registered` is the registration
     * being recorded (its options, its wire form).
     */
    adjustState?: (
        args: pulumi.runtime.MockResourceArgs,
        state: Record<string, any>,
        registered: Registered,
    ) => Record<string, any> | Promise<Record<string, any>>;
}

/** Installs the mocks; the returned array fills as resources register. */
export function recordResources(opts: MockOptions = {}): Registered[] {
    const registered: Registered[] = [];
    const wireInfo = new Map<string, WireInfo>();
    /** additionalSecretOutputs of each registration, by type and name. */
    const secretOutputs = new Map<string, string[]>();
    void pulumi.runtime.setMocks(
        {
            newResource(
                args: pulumi.runtime.MockResourceArgs,
            ): { id: string; state: Record<string, any> } | Promise<{ id: string; state: Record<string, any> }> {
                const previewing = (opts.providers ?? "up") !== "up";
                const key = `${args.type}::${args.name}`;
                // In a preview the engine reports no id for a resource it would create (unknown),
                // and skips a read whose id is unknown (every output unknown).
                const id = previewing && args.custom === true && !args.id ? "" : `${args.name}-id`;
                if (previewing && args.id === UNKNOWN_ID) {
                    registered.push({
                        type: args.type,
                        name: args.name,
                        inputs: {},
                        ...NO_WIRE_INFO,
                        id: "",
                        received: args.inputs,
                    });
                    return { id: "", state: {} };
                }
                const inputs = unwrapSecrets(args.inputs);
                const info = wireInfo.get(key) ?? NO_WIRE_INFO;
                const entry: Registered = {
                    type: args.type,
                    name: args.name,
                    inputs,
                    id,
                    ...info,
                    received: args.inputs,
                };
                registered.push(entry);
                // Outputs echo the inputs, secret where the inputs were (as providers do), plus
                // what the provider computes; the engine makes additionalSecretOutputs secret.
                const state: Record<string, any> = {
                    ...args.inputs,
                    ...mockState({ ...args, inputs }, opts.providers ?? "up"),
                };
                const finish = (answered: Record<string, any>) => {
                    const out = { ...answered };
                    for (const k of secretOutputs.get(key) ?? []) {
                        if (out[k] !== undefined && out[k]?.[SECRET_SIG] !== SECRET_VALUE) {
                            out[k] = { [SECRET_SIG]: SECRET_VALUE, value: out[k] };
                        }
                    }
                    return { id, state: out };
                };
                if (opts.adjustState === undefined) {
                    return finish(state);
                }
                const adjusted = opts.adjustState({ ...args, inputs }, state, entry);
                return "then" in adjusted && typeof adjusted.then === "function"
                    ? (adjusted as Promise<Record<string, any>>).then(finish)
                    : finish(adjusted as Record<string, any>);
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
                return args.inputs;
            },
        },
        opts.project ?? "dragonfly-cce",
        opts.stack ?? "test",
        opts.preview ?? false,
    );
    // setMocks installed the mock monitor synchronously: read each registration as the engine
    // receives it (options, raw inputs) before the mock monitor decodes it.
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
        const secretPaths: string[] = [];
        const wire = req.getObject().toJavaScript();
        unwrapSecrets(wire, [], secretPaths);
        const key = `${req.getType()}::${req.getName()}`;
        wireInfo.set(key, {
            secretPaths,
            unknownPaths: unknownPathsOf(wire),
            urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
            parent: req.getParent(),
            dependencies: req.getDependenciesList(),
            retainOnDelete: req.getRetainondelete() === true,
            ignoreChanges: req.getIgnorechangesList(),
            wire,
        });
        secretOutputs.set(key, req.getAdditionalsecretoutputsList());
        return registerResource(req, callback);
    };
    return registered;
}

/** The SDK packages a program loaded by {@link freshProgram} shares with the test. */
const SHARED_SDK = ["@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/command", "@pulumi/random"];

/**
 * Loads a program (`index.ts`, the consumer example) afresh, as each `pulumi up` does: `load`
 * requires it (`() => require("../../index")`) in its own module registry, so the program's own
 * modules run again; the Pulumi SDK packages are the test's (the mock engine is installed in
 * them, and loading them again would cost about 0.4 s a program).
 */
export function freshProgram<T>(load: () => T): T {
    const shared = SHARED_SDK.map((name) => [name, require(name)] as const);
    let loaded: T | undefined;
    jest.isolateModules(() => {
        for (const [name, sdk] of shared) {
            jest.doMock(name, () => sdk);
        }
        loaded = load();
    });
    return loaded as T;
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
            additionalSecretOutputs: (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [],
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

/** A registration's inputs with its secret paths removed: what a plain-text reader of state sees. */
export function plainInputs(r: Registered): Record<string, any> {
    const copy = JSON.parse(JSON.stringify(r.inputs));
    for (const p of r.secretPaths) {
        const parts = p.split(".");
        let node = copy;
        for (const part of parts.slice(0, -1)) {
            node = node?.[part];
        }
        if (node && parts.length > 0) {
            delete node[parts[parts.length - 1]];
        }
    }
    return copy;
}

/**
 * Where any of `secrets` shows in plain: in a registration's plain inputs, or in a resource's
 * output property that is not secret. Each finding names the resource and the property.
 */
export async function plainLeaks(
    resources: Registered[],
    captured: CapturedOptions[],
    secrets: string[],
): Promise<string[]> {
    const found: string[] = [];
    const check = (where: string, value: unknown) => {
        const text = JSON.stringify(value) ?? "";
        for (const s of secrets) {
            if (text.includes(s)) {
                found.push(`${where} holds ${s.slice(0, 6)}...`);
            }
        }
    };
    for (const r of resources) {
        check(`input of ${r.type} ${r.name}`, plainInputs(r));
    }
    for (const c of captured) {
        for (const [key, value] of Object.entries(c.resource)) {
            if (!pulumi.Output.isInstance(value) || key === "urn") {
                continue;
            }
            const [plain, isSecret] = await Promise.all([resolve(value), pulumi.isSecret(value)]);
            if (!isSecret) {
                check(`output ${key} of ${c.type} ${c.name}`, plain);
            }
        }
    }
    return found;
}
