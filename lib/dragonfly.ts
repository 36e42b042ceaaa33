/**
 * Facts about Dragonfly and its Helm chart that several domains rely on: the pinned chart, the
 * client's ports and metrics path, the console's defaults. Plain constants; this module imports
 * nothing of the project (tests/repo/libLayout.test.ts checks it).
 */

/** The chart's name in its repository. */
export const CHART_NAME = "dragonfly";
/** The pinned chart. Moving the pin: see docs/ci.md, "Upgrading the chart". */
export const DEFAULT_CHART_VERSION = "1.7.4";
export const DEFAULT_CHART_REPO = "https://dragonflyoss.github.io/helm-charts/";

/** The Dragonfly client's HTTP proxy port (chart `client.config.proxy.server.port`). */
export const DEFAULT_PROXY_PORT = 4001;
/** The Dragonfly client's metrics port on every node it runs on (hostNetwork). */
export const CLIENT_METRICS_PORT = 4002;
/** The path of the client's Prometheus metrics. */
export const METRICS_PATH = "/metrics";
/** Where a node reads its own client's metrics. */
export const DEFAULT_METRICS_URL = `http://127.0.0.1:${CLIENT_METRICS_PORT}${METRICS_PATH}`;

/** The manager's REST/console port (chart `manager.restPort`). */
export const CONSOLE_PORT = 8080;
/** The console account the chart creates (the stack rotates its password). */
export const CONSOLE_USERNAME = "root";
/** The password the chart gives root on first start. Public: never leave it in place. */
export const DEFAULT_CONSOLE_PASSWORD = "dragonfly";
