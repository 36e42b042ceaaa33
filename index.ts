// Reads the stack config, builds the stack, exports its outputs. Nothing else lives here.
import { DragonflyCce } from "./components/dragonflyCce";
import { loadStackConfig } from "./lib/stackConfig";

const config = loadStackConfig();
const stack = new DragonflyCce("dragonfly", config);

export const namespace = stack.namespace;
export const releaseName = stack.releaseName;
export const chartVersion = stack.chartVersion;
export const releaseStatus = stack.releaseStatus;
export const proxyAddress = stack.proxyAddress;
export const proxyUrl = stack.proxyUrl;
export const consoleNodePort = stack.consoleNodePort;
export const consoleUrl = stack.consoleUrl;
export const noProxy = stack.noProxy;
export const configuredNodes = stack.configuredNodes;
export const consoleCredentials = stack.consoleCredentials;
export const verification = stack.verification;
