/**
 * Values a provider computes on `up` (Service node ports and load-balancer ingress, the Helm
 * release's status, command output, random results). In a preview they are unknown or simply
 * absent: the Kubernetes provider hands back a Service's inputs when its namespace does not exist
 * yet, so `spec.ports[0].nodePort` is `undefined` rather than unknown. An output built from such
 * a value must be unknown in a preview, never a string with "undefined" in it, and must not
 * throw; on `up` a missing value is an error of the resource (docs/decisions.md, "Previews").
 */
import * as pulumi from "@pulumi/pulumi";

/** An output that is unknown (shown as `[unknown]` in a preview). */
export function unknownOutput<T>(): pulumi.Output<T> {
    return pulumi.output(pulumi.unknown) as unknown as pulumi.Output<T>;
}

/**
 * `value` when the provider gave it; else unknown in a preview, and on `up` a ResourceError of
 * `resource` with `message`. Return it from an `apply`. The error hides its stack: the CLI prints
 * the message under the resource's name and never formats the error's object graph (which holds
 * promises and resources, and took a minute and gigabytes of memory to print).
 */
export function computedValue<T>(
    value: T | undefined,
    resource: pulumi.Resource,
    message: () => string,
): pulumi.Output<T> {
    if (value !== undefined) {
        return pulumi.output(value) as pulumi.Output<T>;
    }
    if (pulumi.runtime.isDryRun()) {
        return unknownOutput<T>();
    }
    throw resourceError(message(), resource);
}

/**
 * `fn()`, run inside an `apply`; what it throws becomes a ResourceError of `resource` with the
 * same message (`context: ` before it when given).
 */
export function orResourceError<T>(resource: pulumi.Resource, fn: () => T, context?: string): T {
    try {
        return fn();
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw resourceError(context === undefined ? message : `${context}: ${message}`, resource);
    }
}

/** An error of `resource` that the CLI prints as its message under the resource's name. */
export function resourceError(message: string, resource: pulumi.Resource): pulumi.ResourceError {
    return new pulumi.ResourceError(message, resource, /* hideStack */ true);
}
