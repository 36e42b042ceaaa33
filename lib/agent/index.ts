/**
 * The node agent as other folders see it (docs/layout.md, docs/agent.md): its config key, the
 * Kubernetes objects that run it, and the entrypoint's contract.
 */
export * from "./config";
export * from "./entrypoint";
export * from "./manifests";
