/**
 * The kubelet world's stand-in images: no registry is reachable, so every image the rendered
 * chart 1.7.4 names (and the pause image) is built here, as OCI image manifests in one archive,
 * and imported into the kubelet node's containerd under the chart's exact references.
 *
 * Every image shares one base layer (Debian's busybox-static with its applets, plus bash and
 * node with the libraries `ldd` names, copied from this machine) and adds a small layer of its
 * own: the stand-in program kubelet-images/standin.js in the workload's role and the probe
 * commands the chart calls (kubelet-images/*.sh, installed without the suffix: grpc_health_probe,
 * mysqladmin, redis-cli; nc and nslookup for the busybox image the init containers use). See
 * kubelet-images/standin.js for what each answers. The node agent's busybox image
 * ({@link AGENT_IMAGE}) is built too.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import * as ts from "typescript";

import { makeCa, makeLeaf } from "./certs";
import { run } from "./exec";

const IMAGES_DIR = join(__dirname, "kubelet-images");

/** The chart's image references (chart 1.7.4 rendered with the stack's values). */
export const CHART_IMAGES = {
    manager: "docker.io/dragonflyoss/manager:v2.5.0",
    scheduler: "docker.io/dragonflyoss/scheduler:v2.5.0",
    client: "docker.io/dragonflyoss/client:v1.4.0",
    mysql: "docker.io/bitnamilegacy/mysql:8.4.3-debian-12-r0",
    redis: "docker.io/bitnamilegacy/redis:7.2.5-debian-12-r0",
    busybox: "docker.io/busybox:latest",
} as const;

/**
 * The node agent's default image (docs/agent.md: `library/busybox:1.37.0`, pulled with
 * imagePullPolicy IfNotPresent). Its stand-in is the base layer alone: Debian's busybox-static
 * (v1.35.0, every applet, `sh` included: the agent's entrypoint runs in busybox `sh`), plus the
 * bash and node every stand-in carries.
 */
export const AGENT_IMAGE = "docker.io/library/busybox:1.37.0";

/** The pause image: kubelet 1.33's default, and the node containerd's `sandbox_image`. */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";

export type StandinRole = keyof typeof CHART_IMAGES;

/**
 * The name containerd's CRI looks an image up by: a Docker Hub reference with one path segment
 * gets `library/` (`docker.io/busybox:latest` is `docker.io/library/busybox:latest`); an image
 * imported under the short form is invisible to the kubelet (ErrImageNeverPull).
 */
export function normalizedRef(ref: string): string {
    const m = /^docker\.io\/([^/]+)$/.exec(ref);
    return m ? `docker.io/library/${m[1]}` : ref;
}

export interface BuildOptions {
    /** Scratch directory (the archive and its layers are written here). */
    dir: string;
    /** Roles whose image fails its probe (grpc_health_probe and mysqladmin exit 1). */
    failingProbe?: StandinRole[];
}

interface Descriptor {
    mediaType: string;
    digest: string;
    size: number;
    annotations?: Record<string, string>;
    platform?: { architecture: string; os: string };
}

const LAYER = "application/vnd.oci.image.layer.v1.tar";
const CONFIG = "application/vnd.oci.image.config.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** Busybox applets the base layer leaves out: the busybox image replaces them (see nc, nslookup). */
const REPLACED_APPLETS = new Set(["nc", "nslookup"]);

function arch(): string {
    return process.arch === "x64" ? "amd64" : process.arch;
}

/** Copies an executable and the shared libraries `ldd` lists for it into `root`, at the same paths. */
function copyWithLibraries(root: string, binary: string, as: string): void {
    const target = join(root, as);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(binary, target);
    chmodSync(target, 0o755);
    const ldd = execFileSync("ldd", [binary], { encoding: "utf8" });
    for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) {
        const lib = m[1];
        mkdirSync(join(root, dirname(lib)), { recursive: true });
        copyFileSync(lib, join(root, lib));
        chmodSync(join(root, lib), 0o755);
    }
}

/** An uncompressed, reproducible layer tar of `root`; written into the OCI layout's blobs. */
function layerFrom(root: string, blobs: string): Descriptor {
    const tmp = join(blobs, "layer.tmp");
    execFileSync("tar", [
        "--sort=name",
        "--mtime=@1700000000",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-C",
        root,
        "-cf",
        tmp,
        ".",
    ]);
    const data = readFileSync(tmp);
    rmSync(tmp);
    return writeBlob(blobs, LAYER, data);
}

function writeBlob(blobs: string, mediaType: string, data: Buffer | string): Descriptor {
    const hex = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(blobs, hex), data);
    return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
}

/** The base layer's tree: busybox-static and its applets, bash, node, users, /tmp. */
function baseTree(root: string): void {
    mkdirSync(join(root, "bin"), { recursive: true });
    copyFileSync("/bin/busybox", join(root, "bin/busybox"));
    chmodSync(join(root, "bin/busybox"), 0o755);
    const applets = execFileSync(join(root, "bin/busybox"), ["--list"], { encoding: "utf8" }).split("\n");
    for (const a of applets.filter((x) => /^[\w.[-]+$/.test(x) && x !== "busybox" && !REPLACED_APPLETS.has(x))) {
        symlinkSync("busybox", join(root, "bin", a));
    }
    copyWithLibraries(root, "/bin/bash", "bin/bash");
    copyWithLibraries(root, process.execPath, "bin/node");
    mkdirSync(join(root, "usr"), { recursive: true });
    symlinkSync("../bin", join(root, "usr/bin"));
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(
        join(root, "etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nbitnami:x:1001:1001::/tmp:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
    );
    writeFileSync(join(root, "etc/group"), "root:x:0:\nbitnami:x:1001:\nnogroup:x:65534:\n");
    for (const d of ["tmp", "root", "var/run", "var/log", "var/lib"]) {
        mkdirSync(join(root, d), { recursive: true });
    }
    chmodSync(join(root, "tmp"), 0o1777);
}

function copyExecutable(from: string, root: string, to: string): void {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
    chmodSync(join(root, to), 0o755);
}

interface ImagePlan {
    ref: string;
    entrypoint?: string[];
    cmd: string[];
    /** Fills the image's own layer. */
    tree: (root: string) => void;
}

/** The stand-in program and the manager's console stand-in (compiled from tests/console). */
function standinFiles(root: string, failProbe: boolean): void {
    copyExecutable(join(IMAGES_DIR, "standin.js"), root, "standin/standin.js");
    copyExecutable(join(IMAGES_DIR, "grpc_health_probe.sh"), root, "bin/grpc_health_probe");
    if (failProbe) {
        writeFileSync(join(root, "standin/probe-fails"), "this stand-in image fails its probe\n");
    }
}

function plans(o: BuildOptions, clientCert: { cert: string; key: string }): ImagePlan[] {
    const fails = (r: StandinRole) => (o.failingProbe ?? []).includes(r);
    const node = (role: string) => ["/bin/node", "/standin/standin.js", role];
    return [
        {
            ref: PAUSE_IMAGE,
            cmd: ["/bin/sleep", "2147483647"],
            tree: (root) => mkdirSync(join(root, "standin"), { recursive: true }),
        },
        {
            ref: AGENT_IMAGE,
            cmd: ["sh"],
            tree: (root) => {
                // The applets the base layer leaves to the chart's busybox image, as busybox's own.
                mkdirSync(join(root, "bin"), { recursive: true });
                for (const a of REPLACED_APPLETS) {
                    symlinkSync("busybox", join(root, "bin", a));
                }
            },
        },
        {
            ref: CHART_IMAGES.busybox,
            cmd: ["sh"],
            tree: (root) => {
                copyExecutable(join(IMAGES_DIR, "nc.sh"), root, "bin/nc");
                copyExecutable(join(IMAGES_DIR, "nslookup.js"), root, "bin/nslookup");
                // Debian's busybox sh runs its own applets before PATH (its nc has no -z): the
                // init containers' `sh -c` gets bash, which finds the stand-in nc and nslookup.
                mkdirSync(join(root, "bin"), { recursive: true });
                symlinkSync("bash", join(root, "bin/sh"));
            },
        },
        {
            ref: CHART_IMAGES.manager,
            entrypoint: node("manager"),
            cmd: [],
            tree: (root) => {
                standinFiles(root, fails("manager"));
                const source = readFileSync(join(__dirname, "../../console/standInManager.ts"), "utf8");
                const js = ts.transpileModule(source, {
                    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 },
                }).outputText;
                writeFileSync(join(root, "standin/standInManager.js"), js);
            },
        },
        {
            ref: CHART_IMAGES.scheduler,
            entrypoint: node("scheduler"),
            cmd: [],
            tree: (root) => standinFiles(root, fails("scheduler")),
        },
        {
            ref: CHART_IMAGES.client,
            entrypoint: node("client"),
            cmd: [],
            tree: (root) => {
                standinFiles(root, fails("client"));
                copyFileSync(join(__dirname, "standin-server.js"), join(root, "standin/standin-server.js"));
                copyFileSync(clientCert.cert, join(root, "standin/client.crt"));
                copyFileSync(clientCert.key, join(root, "standin/client.key"));
                chmodSync(join(root, "standin/client.key"), 0o644);
                writeFileSync(
                    join(root, "standin/client-proxy.json"),
                    JSON.stringify({
                        listen: { host: "0.0.0.0", port: 4001 },
                        metrics: { host: "0.0.0.0", port: 4002 },
                        records: "/tmp/proxy-records.jsonl",
                        cert: "/standin/client.crt",
                        key: "/standin/client.key",
                    }),
                );
            },
        },
        {
            ref: CHART_IMAGES.mysql,
            entrypoint: node("mysql"),
            cmd: [],
            tree: (root) => {
                standinFiles(root, false);
                if (fails("mysql")) {
                    writeFileSync(
                        join(root, "bin/mysqladmin"),
                        "#!/bin/bash\necho 'mysqld is not alive' >&2\nexit 1\n",
                        {
                            mode: 0o755,
                        },
                    );
                } else {
                    copyExecutable(join(IMAGES_DIR, "mysqladmin.sh"), root, "bin/mysqladmin");
                }
                copyExecutable(join(IMAGES_DIR, "libfs.sh"), root, "opt/bitnami/scripts/libfs.sh");
                mkdirSync(join(root, "opt/bitnami/mysql/logs"), { recursive: true });
            },
        },
        {
            ref: CHART_IMAGES.redis,
            cmd: ["/bin/bash"],
            tree: (root) => {
                standinFiles(root, false);
                copyExecutable(join(IMAGES_DIR, "redis-cli.sh"), root, "bin/redis-cli");
                writeFileSync(
                    join(root, "bin/redis-server"),
                    '#!/bin/sh\nexec /bin/node /standin/standin.js redis "$@"\n',
                    {
                        mode: 0o755,
                    },
                );
            },
        },
    ];
}

/** What {@link buildStandinImages} produced. */
export interface StandinArchive {
    /** The OCI archive (`ctr images import` reads it). */
    file: string;
    /** Every image reference in it. */
    refs: string[];
}

/**
 * Builds every stand-in image into one OCI archive (index.json names each manifest with
 * `io.containerd.image.name`, the reference `ctr images import` gives it).
 */
export async function buildStandinImages(o: BuildOptions): Promise<StandinArchive> {
    const layout = join(o.dir, "oci");
    rmSync(layout, { recursive: true, force: true });
    const blobs = join(layout, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });

    const certDir = join(o.dir, "certs");
    mkdirSync(certDir, { recursive: true });
    const ca = await makeCa(certDir, "client-standin");
    const clientCert = await makeLeaf(certDir, "client-standin", ca, ["127.0.0.1"]);

    const baseRoot = join(o.dir, "base-root");
    rmSync(baseRoot, { recursive: true, force: true });
    baseTree(baseRoot);
    const base = layerFrom(baseRoot, blobs);
    const baseDiff = base.digest;

    const manifests: Descriptor[] = [];
    for (const plan of plans(o, clientCert)) {
        const root = join(o.dir, "image-root");
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root, { recursive: true });
        plan.tree(root);
        const own = layerFrom(root, blobs);
        const config = writeBlob(
            blobs,
            CONFIG,
            JSON.stringify({
                architecture: arch(),
                os: "linux",
                config: {
                    Env: ["PATH=/bin:/usr/bin:/opt/bitnami/redis/bin:/opt/bitnami/mysql/bin"],
                    ...(plan.entrypoint ? { Entrypoint: plan.entrypoint } : {}),
                    Cmd: plan.cmd,
                    WorkingDir: "/",
                },
                rootfs: { type: "layers", diff_ids: [baseDiff, own.digest] },
            }),
        );
        const manifest = writeBlob(
            blobs,
            MANIFEST,
            JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config, layers: [base, own] }),
        );
        manifests.push({
            ...manifest,
            annotations: {
                "io.containerd.image.name": normalizedRef(plan.ref),
                "org.opencontainers.image.ref.name": normalizedRef(plan.ref),
            },
            platform: { architecture: arch(), os: "linux" },
        });
    }
    rmSync(join(o.dir, "image-root"), { recursive: true, force: true });
    rmSync(baseRoot, { recursive: true, force: true });
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
    const file = join(o.dir, "standin-images.tar");
    await run("tar", ["-C", layout, "-cf", file, "."]);
    rmSync(layout, { recursive: true, force: true });
    return { file, refs: manifests.map((m) => m.annotations?.["io.containerd.image.name"] ?? "") };
}

/** Imports the archive into a containerd (its socket), in the CRI's `k8s.io` namespace. */
export async function importStandinImages(socket: string, archive: StandinArchive, netns?: string): Promise<void> {
    await run("ctr", ["--address", socket, "--namespace", "k8s.io", "images", "import", archive.file], {
        netns,
        timeoutMs: 300_000,
    });
}
