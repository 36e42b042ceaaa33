/** The ConfigError that `f` throws; any other outcome (another error, no error) fails the test. */
import { ConfigError } from "../../lib/config/validate";

export function configErrorOf(f: () => unknown): ConfigError {
    try {
        f();
    } catch (e) {
        if (e instanceof ConfigError) {
            return e;
        }
        throw e;
    }
    throw new Error("expected a ConfigError");
}
