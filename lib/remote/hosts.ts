/** Hosts in URLs: the one place that knows an IPv6 address goes in brackets. */

/** `host` as it stands in a URL or `HOST:PORT`: an IPv6 address in brackets (once). */
export function urlHost(host: string): string {
    return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** `HOST:PORT`, e.g. `192.168.0.10:4001` or `[fd00::1]:4001`. */
export function hostPort(host: string, port: number): string {
    return `${urlHost(host)}:${port}`;
}

/** `http://HOST:PORT`. */
export function httpUrl(host: string, port: number): string {
    return `http://${hostPort(host, port)}`;
}
