/**
 * The awk programs of the node scripts (POSIX awk: tested with mawk, linted with gawk --posix;
 * nodes have no python3 or jq). Sources: lib/node/*.awk.
 *
 * containerd's config.toml: a reader and one writer per use, concatenated on the awk command line
 * (`awk -v ... "$AWK_TOML_READ$AWK_TOML_TLS" file` in the apply script):
 * - containerd-toml.awk reads the file (see its header);
 * - containerd-toml-inspect.awk prints its facts (version, config_path, mirrors, tls, inline);
 * - containerd-toml-migrate.awk prints what mirror mode moves into hosts.toml files (and the lines
 *   containerd-toml-emit.awk with containerd-toml-drop.awk then takes out);
 * - containerd-toml-emit.awk with containerd-toml-tls.awk, containerd-toml-drop.awk or
 *   containerd-toml-config-path.awk prints the file with one edit. An edit that cannot be made safely exits 3 with the reason on stdout.
 *
 * Docker's daemon.json: docker-json.awk merges registries into `insecure-registries`.
 */
import { sourceFile } from "../remote/sourceFile";

export const TOML_READ = sourceFile(__dirname, "containerd-toml.awk");
export const TOML_INSPECT = sourceFile(__dirname, "containerd-toml-inspect.awk");
export const TOML_TLS =
    sourceFile(__dirname, "containerd-toml-emit.awk") + sourceFile(__dirname, "containerd-toml-tls.awk");
export const TOML_MIGRATE = sourceFile(__dirname, "containerd-toml-migrate.awk");
export const TOML_DROP =
    sourceFile(__dirname, "containerd-toml-emit.awk") + sourceFile(__dirname, "containerd-toml-drop.awk");
export const TOML_CONFIG_PATH =
    sourceFile(__dirname, "containerd-toml-emit.awk") + sourceFile(__dirname, "containerd-toml-config-path.awk");
export const JSON_AWK = sourceFile(__dirname, "docker-json.awk");

/** The whole awk program of one containerd config.toml use. */
export function tomlProgram(use: "inspect" | "tls" | "migrate" | "drop" | "config_path"): string {
    return (
        TOML_READ +
        {
            inspect: TOML_INSPECT,
            tls: TOML_TLS,
            migrate: TOML_MIGRATE,
            drop: TOML_DROP,
            config_path: TOML_CONFIG_PATH,
        }[use]
    );
}
