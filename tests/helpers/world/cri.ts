/**
 * A minimal CRI image client (what the kubelet and `crictl pull` do), over containerd's gRPC
 * socket, with @grpc/grpc-js and @grpc/proto-loader. A pull through this client goes through
 * containerd's CRI plugin, i.e. the daemon's own environment (HTTP_PROXY...) and registry
 * configuration (config.toml, config_path): unlike `ctr pull`, which fetches in the ctr process.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "path";

export interface CriImage {
    id: string;
    repoTags: string[];
    repoDigests: string[];
    size: string;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
interface ImageServiceClient extends grpc.Client {
    PullImage(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<{ imageRef: string }>): void;
    ImageStatus(
        req: unknown,
        md: grpc.Metadata,
        opts: grpc.CallOptions,
        cb: Callback<{ image: CriImage | null }>,
    ): void;
    RemoveImage(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<object>): void;
}

let ctor: (new (address: string, creds: grpc.ChannelCredentials) => ImageServiceClient) | undefined;

function serviceCtor(): new (address: string, creds: grpc.ChannelCredentials) => ImageServiceClient {
    if (!ctor) {
        const def = protoLoader.loadSync(join(__dirname, "cri.proto"), {
            keepCase: false,
            longs: String,
            defaults: true,
        });
        const pkg = grpc.loadPackageDefinition(def) as unknown as {
            runtime: { v1: { ImageService: new (a: string, c: grpc.ChannelCredentials) => ImageServiceClient } };
        };
        ctor = pkg.runtime.v1.ImageService;
    }
    return ctor;
}

export class CriClient {
    private readonly client: ImageServiceClient;

    /** `socket`: absolute path of containerd's socket. */
    constructor(socket: string) {
        const Ctor = serviceCtor();
        this.client = new Ctor(`unix://${socket}`, grpc.credentials.createInsecure());
    }

    private call<T>(method: "PullImage" | "ImageStatus" | "RemoveImage", req: unknown, timeoutMs: number): Promise<T> {
        return new Promise((resolve, reject) => {
            const deadline = new Date(Date.now() + timeoutMs);
            (this.client[method] as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: Callback<T>) => void).call(
                this.client,
                req,
                new grpc.Metadata(),
                { deadline },
                (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)),
            );
        });
    }

    /** Pulls like the kubelet; returns the image reference (the image id) containerd reports. */
    async pull(image: string, timeoutMs = 60_000): Promise<string> {
        const res = await this.call<{ imageRef: string }>("PullImage", { image: { image } }, timeoutMs);
        return res.imageRef;
    }

    /** The image, or null when containerd's CRI does not know it. */
    async status(image: string): Promise<CriImage | null> {
        const res = await this.call<{ image: CriImage | null }>("ImageStatus", { image: { image } }, 10_000);
        return res.image ?? null;
    }

    async remove(image: string): Promise<void> {
        await this.call<object>("RemoveImage", { image: { image } }, 30_000);
    }

    close(): void {
        this.client.close();
    }
}
