/** Shell text that travels to a host: quoting, and the command that runs a generated script. */

/** Quotes a value for bash (single quotes). */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command text for `command.remote.Command`: runs the script with bash (through `sudo -n`
 * for non-root users). The script travels as one single-quoted argument, so previews show it as
 * text; stdin still reaches it.
 */
export function remoteCommand(script: string, opts: { sudo: boolean }): string {
    return `${opts.sudo ? "sudo -n " : ""}bash --norc --noprofile -c ${shq(script)} dragonfly-cce`;
}
