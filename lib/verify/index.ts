/** The in-stack pull verification: script generator, parsers, config. */
export * from "./config";
export * from "./metrics";
export * from "./result";
export * from "./script";
