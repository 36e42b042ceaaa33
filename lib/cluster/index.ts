/**
 * The cluster domain as other folders see it (docs/layout.md): its config keys, the Helm values
 * and the Services the stack creates.
 */
export * from "./config";
export * from "./helmValues";
export * from "./services";
