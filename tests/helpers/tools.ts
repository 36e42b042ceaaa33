/**
 * Where the real tools live: scripts/tools.sh builds helm, kube-apiserver, kube-controller-manager
 * and kine from Go modules into `${DRAGONFLY_CCE_TOOLS:-$HOME/.cache/dragonfly-cce/tools}/bin`.
 */
import * as os from "os";
import * as path from "path";

/** The tools cache's bin directory (the same rule as scripts/tools.sh). */
export function toolsBin(): string {
    const root = process.env.DRAGONFLY_CCE_TOOLS ?? path.join(os.homedir(), ".cache", "dragonfly-cce", "tools");
    return path.join(root, "bin");
}

/** Absolute path of a built tool. */
export function toolPath(name: string): string {
    return path.join(toolsBin(), name);
}
