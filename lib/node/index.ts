/**
 * The node domain as other folders see it (docs/layout.md): the `nodes` config, each node's
 * plan, and the scripts that configure a runtime and undo it.
 */
export * from "./config";
export * from "./plan";
export * from "./scripts";
