/**
 * A tiny OCI image built by the test itself (one layer with one file whose content is unique,
 * so every image has its own blobs and no pull is served from containerd's content cache),
 * pushed to a registry with the distribution HTTP API through curl.
 */
import { createHash } from "crypto";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { gzipSync } from "zlib";
import { run } from "./exec";

export interface Blob {
    digest: string;
    mediaType: string;
    data: Buffer;
}

export interface TestImage {
    /** Repository path, e.g. `e2e/proxy-http`. */
    repository: string;
    tag: string;
    manifest: Blob;
    config: Blob;
    layer: Blob;
}

export function sha256(data: Buffer | string): string {
    return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function octal(n: number, width: number): string {
    return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A ustar archive holding one regular file (what a layer needs, nothing more). */
export function tarOneFile(name: string, content: Buffer): Buffer {
    const header = Buffer.alloc(512, 0);
    header.write(name, 0, 100, "utf8");
    header.write(octal(0o644, 8), 100, "ascii");
    header.write(octal(0, 8), 108, "ascii");
    header.write(octal(0, 8), 116, "ascii");
    header.write(octal(content.length, 12), 124, "ascii");
    header.write(octal(1_700_000_000, 12), 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write("0", 156, "ascii");
    header.write("ustar\0", 257, "ascii");
    header.write("00", 263, "ascii");
    let sum = 0;
    for (const b of header) {
        sum += b;
    }
    header.write(octal(sum, 7) + " ", 148, "ascii");
    const pad = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
    return Buffer.concat([header, content, pad, Buffer.alloc(1024, 0)]);
}

function goArch(): string {
    return process.arch === "x64" ? "amd64" : process.arch;
}

export function buildImage(repository: string, tag: string, unique: string): TestImage {
    const tar = tarOneFile("hello.txt", Buffer.from(`dragonfly-cce pull-path test image ${unique}\n`));
    const layerData = gzipSync(tar);
    const layer: Blob = {
        digest: sha256(layerData),
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        data: layerData,
    };
    const configData = Buffer.from(
        JSON.stringify({
            architecture: goArch(),
            os: "linux",
            config: { Cmd: ["/hello.txt"] },
            rootfs: { type: "layers", diff_ids: [sha256(tar)] },
        }),
    );
    const config: Blob = {
        digest: sha256(configData),
        mediaType: "application/vnd.oci.image.config.v1+json",
        data: configData,
    };
    const manifestData = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: config.mediaType, digest: config.digest, size: config.data.length },
            layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.data.length }],
        }),
    );
    const manifest: Blob = {
        digest: sha256(manifestData),
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        data: manifestData,
    };
    return { repository, tag, manifest, config, layer };
}

export interface PushTarget {
    /** `http://198.18.0.3:5000` or `https://...`. */
    baseUrl: string;
    /** Namespace to run curl in. */
    netns: string;
    /** CA file for https. */
    caFile?: string;
    /** Client certificate for a registry that requires one. */
    client?: { cert: string; key: string };
    /** Scratch directory for the blob files. */
    workDir: string;
}

async function curl(t: PushTarget, args: string[]): Promise<string> {
    const tls = t.caFile ? ["--cacert", t.caFile] : [];
    if (t.client) {
        tls.push("--cert", t.client.cert, "--key", t.client.key);
    }
    const r = await run("curl", ["-sS", "--max-time", "10", ...tls, ...args], { netns: t.netns });
    return r.stdout;
}

/** Writes `data` to a scratch file and PUTs it to `url`; fails unless the registry answers 201. */
async function putFile(
    t: PushTarget,
    name: string,
    data: Buffer | string,
    contentType: string,
    url: string,
    what: string,
): Promise<void> {
    const file = join(t.workDir, name.replace(":", "-"));
    writeFileSync(file, data);
    const status = await curl(t, [
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "PUT",
        "-H",
        `Content-Type: ${contentType}`,
        "--data-binary",
        `@${file}`,
        url,
    ]);
    if (status !== "201") {
        throw new Error(`${what} answered ${status}`);
    }
}

/** Pushes config, layer and manifest (two-step blob upload: POST, then PUT with the digest). */
export async function pushImage(t: PushTarget, image: TestImage): Promise<void> {
    mkdirSync(t.workDir, { recursive: true });
    for (const blob of [image.config, image.layer]) {
        const headers = await curl(t, [
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-X",
            "POST",
            `${t.baseUrl}/v2/${image.repository}/blobs/uploads/`,
        ]);
        const m = /^location:\s*(\S+)/im.exec(headers);
        if (!m) {
            throw new Error(`registry gave no upload location: ${headers}`);
        }
        const location = new URL(m[1], t.baseUrl);
        location.searchParams.set("digest", blob.digest);
        await putFile(
            t,
            blob.digest,
            blob.data,
            "application/octet-stream",
            location.toString(),
            `blob upload of ${blob.digest}`,
        );
    }
    await putFile(
        t,
        image.manifest.digest,
        image.manifest.data,
        image.manifest.mediaType,
        `${t.baseUrl}/v2/${image.repository}/manifests/${image.tag}`,
        `manifest upload of ${image.repository}:${image.tag}`,
    );
}
