#!/usr/bin/env node
/**
 * The release's Helm post-renderer (`postrender` of the helm.v3.Release; `helm install
 * --post-renderer lib/cluster/helmPostRender.js` by hand). Reads the rendered manifests on stdin, writes
 * them to stdout.
 *
 * Chart 1.7.4 renders the Dragonfly config files into ConfigMaps: the manager's (JWT key, MySQL
 * and Redis passwords), the scheduler's (Redis password) and the clients' (the proxy's basic-auth
 * password). The built-in `view` role reads ConfigMaps, not Secrets. So each ConfigMap that a
 * Dragonfly workload (pod labels `app` and `component`) mounts as its `config` volume becomes a
 * Secret of the same name and data, and the volume a Secret volume with the same items: the
 * files stay where the components read them. Every other document passes through unchanged.
 * Plain JavaScript, so that Helm can run it without a TypeScript compiler.
 */
"use strict";

const { parseAllDocuments } = require("yaml");

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

/** The pod template of a workload, or undefined. */
function podTemplate(o) {
    return WORKLOADS.has(o.kind) && o.spec && o.spec.template ? o.spec.template : undefined;
}

function isDragonflyPod(template) {
    const labels = (template.metadata && template.metadata.labels) || {};
    return typeof labels.app === "string" && typeof labels.component === "string";
}

/** Every `{name}` reference to a ConfigMap left anywhere under `v`, with where it is. */
function configMapReferences(v, at, out) {
    if (Array.isArray(v)) {
        v.forEach((c, i) => configMapReferences(c, `${at}[${i}]`, out));
    } else if (v !== null && typeof v === "object") {
        for (const [k, c] of Object.entries(v)) {
            if (["configMap", "configMapRef", "configMapKeyRef"].includes(k) && c && typeof c.name === "string") {
                out.push({ name: c.name, at: `${at}.${k}` });
            }
            configMapReferences(c, `${at}.${k}`, out);
        }
    }
    return out;
}

/** The post-rendered manifests for Helm's rendered `text`. */
function postRender(text) {
    // YAML 1.1, as Helm and the API server read manifests (sigs.k8s.io/yaml): Bitnami's
    // `defaultMode: 0755` is octal (493). Read as YAML 1.2 it is decimal 755, written back as
    // `755`, and the API server refuses every pod of the workload (the StatefulSet itself is
    // accepted; only a kubelet world showed it).
    const docs = parseAllDocuments(text, { version: "1.1" });
    for (const d of docs) {
        if (d.errors.length > 0) {
            throw new Error(`helmPostRender: the rendered manifests do not parse: ${d.errors[0].message}`);
        }
    }
    const objects = docs.map((d) => d.toJS());
    const kindOf = (o) => (o !== null && typeof o === "object" ? o.kind : undefined);
    const configMaps = new Map();
    objects.forEach((o, i) => {
        if (kindOf(o) === "ConfigMap" && o.metadata && typeof o.metadata.name === "string") {
            configMaps.set(o.metadata.name, i);
        }
    });

    // The ConfigMaps Dragonfly workloads mount as `config`, and those volumes made Secret volumes.
    const moved = new Set();
    const changed = new Set();
    objects.forEach((o, i) => {
        const template = kindOf(o) === undefined ? undefined : podTemplate(o);
        if (template === undefined || !isDragonflyPod(template)) {
            return;
        }
        for (const volume of (template.spec && template.spec.volumes) || []) {
            if (volume.name !== "config" || !volume.configMap || !configMaps.has(volume.configMap.name)) {
                continue;
            }
            const { name, ...rest } = volume.configMap;
            delete volume.configMap;
            volume.secret = { secretName: name, ...rest };
            moved.add(name);
            changed.add(i);
        }
    });
    for (const name of moved) {
        const i = configMaps.get(name);
        const cm = objects[i];
        // stringData, not data: the files stay readable in `helm get manifest` to whoever may
        // read the release (a Secret itself), and the API server stores them as data.
        const stringData = { ...(cm.data || {}) };
        const secret = { apiVersion: "v1", kind: "Secret", metadata: cm.metadata, type: "Opaque", stringData };
        if (cm.binaryData) {
            secret.data = { ...cm.binaryData };
        }
        objects[i] = secret;
        changed.add(i);
    }
    // A moved ConfigMap that something else still names would be missing: refuse, say where.
    const left = objects.flatMap((o) =>
        kindOf(o) === undefined ? [] : configMapReferences(o, `${o.kind}/${o.metadata && o.metadata.name}`, []),
    );
    for (const ref of left.filter((r) => moved.has(r.name))) {
        throw new Error(`helmPostRender: ConfigMap ${ref.name} became a Secret, but ${ref.at} still names it`);
    }
    for (const i of changed) {
        const source = docs[i].contents && docs[i].contents.commentBefore;
        docs[i].contents = docs[i].createNode(objects[i]);
        docs[i].contents.commentBefore = source;
    }
    return docs
        .filter((d) => d.contents !== null)
        .map((d) => d.toString({ lineWidth: 0 }))
        .map((t) => (t.startsWith("---") ? t : `---\n${t}`))
        .join("");
}

module.exports = { postRender };

if (require.main === module) {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => {
        try {
            process.stdout.write(postRender(Buffer.concat(chunks).toString("utf8")));
        } catch (e) {
            process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        }
    });
}
