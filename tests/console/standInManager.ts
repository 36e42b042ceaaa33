/**
 * A stand-in for the Dragonfly manager's user API, enough to run the rotation script against:
 *
 * - `POST /api/v1/users/signin` `{"name","password"}` -> 200 `{"token","expire"}` / 401
 * - `GET /api/v1/users?name=N` (Bearer token) -> 200 `[{...user}]`
 * - `POST /api/v1/users/{id}/reset_password` (Bearer token) `{"old_password","new_password"}`
 *   -> 200; 401 without a valid token or with a wrong old password; 400 unless the new one has
 *   8-20 characters; 404 for an unknown id.
 *
 * It listens on 127.0.0.1 on a random port and can be told to be "not ready" for the first N
 * requests (503, or the connection dropped without an answer).
 */
import { randomBytes } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";

export interface StandInUser {
    id: number;
    name: string;
    password: string;
}

export interface StandInOptions {
    /** Accounts; default root (id 1) with password `dragonfly`. */
    users?: StandInUser[];
    /** Answer this many requests as not ready before serving. */
    unavailableFor?: number;
    /** How to be not ready: 503 or drop the connection. Default 503. */
    unavailableAs?: "503" | "drop";
    /** `GET /api/v1/users` answers 500 (the script must fall back to id 1). */
    brokenUserList?: boolean;
    /** `GET /api/v1/users?name=` ignores the filter and lists every account. */
    ignoreNameFilter?: boolean;
    /** Accept connections but never answer (the script's request timeout must bound it). */
    hang?: boolean;
    /** Listen on this port (default: a random one). */
    port?: number;
}

export interface RecordedRequest {
    method: string;
    url: string;
    authorization?: string;
    body: string;
    /** What the stand-in answered (0: dropped). */
    status: number;
}

export class StandInManager {
    readonly users: StandInUser[];
    readonly requests: RecordedRequest[] = [];
    private readonly tokens = new Set<string>();
    private readonly server: http.Server;
    private unavailableLeft: number;

    constructor(private readonly opts: StandInOptions = {}) {
        this.users = (opts.users ?? [{ id: 1, name: "root", password: "dragonfly" }]).map((u) => ({ ...u }));
        this.unavailableLeft = opts.unavailableFor ?? 0;
        this.server = http.createServer((req, res) => this.handle(req, res));
    }

    /** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:41234`. */
    listen(): Promise<string> {
        return new Promise((resolve, reject) => {
            this.server.once("error", reject);
            this.server.listen(this.opts.port ?? 0, "127.0.0.1", () => {
                resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`);
            });
        });
    }

    close(): Promise<void> {
        return new Promise((resolve) => {
            this.server.closeAllConnections();
            this.server.close(() => resolve());
        });
    }

    user(name: string): StandInUser | undefined {
        return this.users.find((u) => u.name === name);
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const rec: RecordedRequest = {
                method: req.method ?? "",
                url: req.url ?? "",
                authorization: req.headers.authorization,
                body: Buffer.concat(chunks).toString("utf8"),
                status: 0,
            };
            this.requests.push(rec);
            if (this.opts.hang) {
                return;
            }
            if (this.unavailableLeft > 0) {
                this.unavailableLeft--;
                if (this.opts.unavailableAs === "drop") {
                    req.socket.destroy();
                    return;
                }
                this.reply(res, rec, 503, { message: "manager is starting" });
                return;
            }
            this.route(req, res, rec);
        });
    }

    private reply(res: http.ServerResponse, rec: RecordedRequest, status: number, body: unknown): void {
        rec.status = status;
        res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(body));
    }

    private authorized(rec: RecordedRequest): boolean {
        const m = /^Bearer (\S+)$/.exec(rec.authorization ?? "");
        return m !== null && this.tokens.has(m[1]);
    }

    private route(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest): void {
        const url = new URL(rec.url, "http://stand-in");
        let body: Record<string, unknown> = {};
        if (rec.method === "POST") {
            if (!/^application\/json/.test(req.headers["content-type"] ?? "")) {
                this.reply(res, rec, 400, { message: "Content-Type must be application/json" });
                return;
            }
            try {
                body = JSON.parse(rec.body) as Record<string, unknown>;
            } catch {
                this.reply(res, rec, 400, { message: "invalid JSON" });
                return;
            }
        }

        if (rec.method === "POST" && url.pathname === "/api/v1/users/signin") {
            const u = this.users.find((x) => x.name === body.name);
            if (u === undefined || u.password !== body.password) {
                this.reply(res, rec, 401, { message: "Unauthorized" });
                return;
            }
            const token = `${randomBytes(12).toString("base64url")}.${randomBytes(24).toString("base64url")}`;
            this.tokens.add(token);
            this.reply(res, rec, 200, { token, expire: new Date(Date.now() + 3600_000).toISOString() });
            return;
        }

        if (rec.method === "GET" && url.pathname === "/api/v1/users") {
            if (!this.authorized(rec)) {
                this.reply(res, rec, 401, { message: "Unauthorized" });
                return;
            }
            if (this.opts.brokenUserList) {
                this.reply(res, rec, 500, { message: "database unavailable" });
                return;
            }
            const name = url.searchParams.get("name");
            const list = this.users
                .filter((u) => name === null || this.opts.ignoreNameFilter || u.name === name)
                .map((u) => ({
                    created_at: "2025-01-01T00:00:00Z",
                    updated_at: "2025-01-01T00:00:00Z",
                    is_del: 0,
                    email: `${u.name}@example.com`,
                    name: u.name,
                    avatar: "",
                    id: u.id,
                    state: "enable",
                }));
            this.reply(res, rec, 200, list);
            return;
        }

        const reset = /^\/api\/v1\/users\/(\d+)\/reset_password$/.exec(url.pathname);
        if (rec.method === "POST" && reset !== null) {
            if (!this.authorized(rec)) {
                this.reply(res, rec, 401, { message: "Unauthorized" });
                return;
            }
            const u = this.users.find((x) => x.id === Number(reset[1]));
            if (u === undefined) {
                this.reply(res, rec, 404, { message: "user not found" });
                return;
            }
            const np = body.new_password;
            if (typeof np !== "string" || np.length < 8 || np.length > 20) {
                this.reply(res, rec, 400, { message: "new_password must have 8-20 characters" });
                return;
            }
            if (body.old_password !== u.password) {
                this.reply(res, rec, 401, { message: "old password is wrong" });
                return;
            }
            u.password = np;
            this.reply(res, rec, 200, {});
            return;
        }

        this.reply(res, rec, 404, { message: "not found" });
    }
}
