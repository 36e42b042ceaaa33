// Reads the stack config, builds the stack, exports its outputs. Nothing else lives here.
import * as pulumi from "@pulumi/pulumi";

import { DragonflyCce } from "./components/dragonflyCce";
import { loadStackConfig, whenReady } from "./lib/config/pulumi";

const stack = whenReady(loadStackConfig(), (config) => new DragonflyCce("dragonfly", config));
const output = <K extends keyof DragonflyCce>(key: K) => pulumi.output(stack.then((s) => s[key]));

export const namespace = output("namespace");
export const releaseName = output("releaseName");
export const chartVersion = output("chartVersion");
export const releaseStatus = output("releaseStatus");
export const proxyAddress = output("proxyAddress");
export const proxyUrl = output("proxyUrl");
export const consoleNodePort = output("consoleNodePort");
export const consoleUrl = output("consoleUrl");
export const noProxy = output("noProxy");
export const proxyCaCertificate = output("proxyCaCertificate");
export const configuredNodes = output("configuredNodes");
export const consoleCredentials = output("consoleCredentials");
export const verification = output("verification");
export const agentNodes = output("agentNodes");
