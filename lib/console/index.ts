/** The console domain as other folders see it (docs/layout.md). */
export { CONSOLE_PASSWORD_KEY, ConsoleConfig, parseConsole } from "./config";
export { checkConsolePassword } from "./password";
