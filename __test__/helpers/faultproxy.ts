/**
 * A loopback fault-injecting reverse proxy for the faults suite: give its URL as the S3 endpoint
 * (DynamoDB too: stowage sends DynamoDB calls to the S3 endpoint unless dynamodb_endpoint is set) and
 * it forwards every request to `target` (an emulator on 127.0.0.1), except that for a seeded fraction
 * of requests it injects one fault:
 *
 *   "500" / "503"  answers that status itself (an S3 XML or DynamoDB JSON error body); the request
 *                  never reaches the server
 *   "reset"        destroys the client's connection on arrival; the request never reaches the server
 *   "stall"        waits `stallMs` (default 2 s), then forwards (if the client is still there)
 *   "lostResponse" forwards, waits for the server's whole answer, then closes the client's connection
 *                  without sending a byte of it (the server applied the request; the client can't know)
 *   "rstResponse"  the same, but closes with a TCP RST (socket.resetAndDestroy()) instead of a FIN
 *
 * The random mode (`rate`, `kinds`, `seed`) only uses the first four unless told otherwise. `decide`
 * replaces the random choice for deterministic tests. Everything injected is counted and logged.
 */
import * as http from "http";
import * as net from "net";
import { mulberry32, pick } from "./prng";
import { listenOnLoopback } from "./listen";

export type FaultKind = "500" | "503" | "reset" | "stall" | "lostResponse" | "rstResponse";
export const RANDOM_KINDS: readonly FaultKind[] = ["500", "503", "reset", "stall"];

export interface ProxiedRequest {
  /** 1-based arrival number */
  n: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** x-amz-target without the service prefix (e.g. "PutItem") for DynamoDB calls, else "" */
  ddbOp: string;
  at: number;
}

export interface InjectedFault extends ProxiedRequest {
  fault: FaultKind;
}

export interface FaultProxyOptions {
  /** http://127.0.0.1:PORT of the real server */
  target: string;
  /** probability that a request gets a fault (random mode); default 0 */
  rate?: number;
  seed?: number;
  kinds?: readonly FaultKind[];
  stallMs?: number;
  /** deterministic mode: the fault for this request, or null to forward it untouched */
  decide?: (r: ProxiedRequest) => FaultKind | null;
}

export interface FaultProxy {
  url: string;
  port: number;
  /** every request that arrived, in order */
  requests: ProxiedRequest[];
  injected: InjectedFault[];
  /** injected faults by kind */
  counts: () => Record<FaultKind, number>;
  close: () => Promise<void>;
}

/** Ports whose digits could be mistaken for a status code by stowage's error classification. */

function isLoopback(u: URL): boolean {
  return u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
}

export async function faultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  if (!isLoopback(target)) throw new Error(`fault proxy: target must be on loopback, got ${opts.target}`);
  const rng = mulberry32(opts.seed ?? 1);
  const rate = opts.rate ?? 0;
  const kinds = opts.kinds ?? RANDOM_KINDS;
  const stallMs = opts.stallMs ?? 2000;
  const requests: ProxiedRequest[] = [];
  const injected: InjectedFault[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const choose = (r: ProxiedRequest): FaultKind | null => {
    if (opts.decide) return opts.decide(r);
    // Two draws per request whatever the outcome, so the sequence of decisions depends only on the
    // seed and the arrival order.
    const hit = rng() < rate;
    const kind = pick(rng, kinds);
    return hit ? kind : null;
  };

  const forward = (req: http.IncomingMessage, body: Buffer, onResponse: (status: number, headers: http.IncomingHttpHeaders, data: Buffer) => void, onError: (e: Error) => void) => {
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (ur) => {
        const chunks: Buffer[] = [];
        ur.on("data", (c: Buffer) => chunks.push(c));
        ur.on("end", () => onResponse(ur.statusCode ?? 502, ur.headers, Buffer.concat(chunks)));
        ur.on("error", onError);
      },
    );
    up.on("error", onError);
    up.end(body);
  };

  const srv = http.createServer((req, res) => {
    const n = requests.length + 1;
    const amzTarget = String(req.headers["x-amz-target"] ?? "");
    const info: ProxiedRequest = {
      n,
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      ddbOp: amzTarget.startsWith("DynamoDB_") ? amzTarget.slice(amzTarget.indexOf(".") + 1) : "",
      at: Date.now(),
    };
    requests.push(info);
    if (/^https?:\/\//.test(info.url)) {
      // only a reverse proxy: an absolute-form request would be forward-proxy use
      res.writeHead(400);
      res.end("reverse proxy only");
      return;
    }
    const fault = choose(info);
    if (fault) injected.push({ ...info, fault });

    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => undefined);
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (fault === "500" || fault === "503") {
        if (info.ddbOp) {
          // DynamoDB's JSON error shape
          const type = fault === "500" ? "InternalServerError" : "ServiceUnavailable";
          res.writeHead(Number(fault), { "content-type": "application/x-amz-json-1.0" });
          res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: "injected by the fault proxy" }));
        } else {
          const code = fault === "500" ? "InternalError" : "SlowDown";
          res.writeHead(Number(fault), { "content-type": "application/xml" });
          res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`);
        }
        return;
      }
      const send = () => {
        if (req.socket.destroyed) return; // the client gave up while we stalled: drop the request
        forward(
          req,
          body,
          (status, headers, data) => {
            if (fault === "lostResponse") {
              req.socket.destroy();
            } else if (fault === "rstResponse") {
              req.socket.resetAndDestroy();
            } else {
              const h = { ...headers };
              delete h["transfer-encoding"];
              h["content-length"] = String(data.length);
              res.writeHead(status, h);
              res.end(data);
            }
          },
          (e) => {
            if (res.headersSent) {
              req.socket.destroy();
              return;
            }
            res.writeHead(502, { "content-type": "text/plain" });
            res.end(`fault proxy: upstream error ${e.message}`);
          },
        );
      };
      if (fault === "stall") {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, stallMs);
        timers.add(t);
      } else {
        send();
      }
    });
  });
  srv.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  srv.on("clientError", (_e, s: net.Socket) => s.destroy());

  const port = await listenOnLoopback(srv);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    injected,
    counts: () => {
      const c = { "500": 0, "503": 0, reset: 0, stall: 0, lostResponse: 0, rstResponse: 0 } as Record<FaultKind, number>;
      for (const f of injected) c[f.fault]++;
      return c;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        srv.close(() => done());
      }),
  };
}
