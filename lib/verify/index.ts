/**
 * The pull check as other folders see it (docs/layout.md): its config. The script and its result
 * are used by components/pullVerification.ts only.
 */
export * from "./config";
