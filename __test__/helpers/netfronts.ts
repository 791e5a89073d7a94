/**
 * Loopback network peers for cloud-more.test.ts: proxies and fronts that record what the client
 * sends (Host, absolute-form URL, HTTP version, CONNECT targets, TLS failures) and forward to an
 * emulator on 127.0.0.1, plus a listener whose connects hang and a throwaway test CA.
 *
 * Nothing here forwards anywhere but the emulator it was given (always on 127.0.0.1): absolute-form
 * requests and CONNECT targets are checked and refused unless they are loopback (or, for the
 * virtual-host proxy, `<bucket>.<domain>:<port>` names that are never resolved: the proxy maps them
 * to the emulator itself).
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as http2 from "http2";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import type { Recorded } from "./cloud";
import { Listenable, listenOnLoopback } from "./listen";

export interface Seen extends Recorded {
  /** which listener saw it: "proxy", "tunnel" (inside a CONNECT), "front"... */
  via: string;
  httpVersion: string;
  /** ALPN protocol of the TLS connection, if any ("h2", "http/1.1") */
  alpn?: string;
}

export interface Front {
  url: string;
  port: number;
  seen: Seen[];
  /** TLS handshakes the client aborted (e.g. "unknown ca") */
  tlsErrors: string[];
  close: () => Promise<void>;
}

export interface TestCa {
  /** the CA certificate (PEM), what a user gives as proxyCaCertificate */
  caPem: string;
  /** a leaf for IP 127.0.0.1 signed by the CA */
  key: Buffer;
  cert: Buffer;
}

/**
 * A CA (basicConstraints CA:TRUE) and a server certificate for 127.0.0.1 it signed, made with
 * openssl in `dir`. undefined when openssl is missing.
 */
export function makeTestCa(dir: string): TestCa | undefined {
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1",
      "-subj", "/CN=stowage test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("leaf.key"), "-out", f("leaf.csr"), "-subj", "/CN=127.0.0.1"]);
    fs.writeFileSync(f("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    run(["x509", "-req", "-in", f("leaf.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("leaf.pem"),
      "-days", "1", "-extfile", f("leaf.ext")]);
    return { caPem: fs.readFileSync(f("ca.pem"), "utf8"), key: fs.readFileSync(f("leaf.key")), cert: fs.readFileSync(f("leaf.pem")) };
  } catch {
    return undefined;
  }
}

function isLoopbackHost(h: string): boolean {
  return h === "127.0.0.1" || h === "localhost" || h === "[::1]" || h === "::1";
}

const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "proxy-authorization", "http2-settings", "te"]);

function cleanHeaders(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders, host?: string): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || HOP.has(k) || v === undefined) continue;
    out[k] = v;
  }
  if (host) out.host = host;
  else if (!out.host && (h as http2.IncomingHttpHeaders)[":authority"]) out.host = (h as http2.IncomingHttpHeaders)[":authority"];
  return out;
}

type AnyReq = http.IncomingMessage | http2.Http2ServerRequest;
type AnyRes = http.ServerResponse | http2.Http2ServerResponse;

/** Sends `req` to the emulator `target` (http://127.0.0.1:PORT) with `reqPath` and optional Host. */
function forward(req: AnyReq, res: AnyRes, target: URL, reqPath: string, host?: string): void {
  if (!isLoopbackHost(target.hostname)) throw new Error(`netfronts: refusing to forward to ${target.href}`);
  const up = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: reqPath, headers: cleanHeaders(req.headers, host) },
    (ur) => {
      const h: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k) && v !== undefined) h[k] = v;
      (res as http.ServerResponse).writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res as http.ServerResponse);
    },
  );
  up.on("error", (e) => {
    if (!res.headersSent) (res as http.ServerResponse).writeHead(502);
    (res as http.ServerResponse).end(String(e));
  });
  (req as http.IncomingMessage).pipe(up);
}

function record(seen: Seen[], via: string, req: AnyReq): void {
  const sock = (req as http.IncomingMessage).socket as net.Socket & { alpnProtocol?: string | false };
  const alpn = sock && typeof sock.alpnProtocol === "string" ? sock.alpnProtocol : undefined;
  seen.push({ via, method: req.method ?? "", url: req.url ?? "", headers: req.headers as http.IncomingHttpHeaders, at: Date.now(), httpVersion: req.httpVersion, alpn });
}


interface Listener extends Listenable {
  on(ev: "connection", cb: (s: net.Socket) => void): unknown;
}

async function start(srv: Listener, scheme: "http" | "https", seen: Seen[], tlsErrors: string[]): Promise<Front> {
  const sockets = new Set<net.Socket>();
  srv.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listenOnLoopback(srv);
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    seen,
    tlsErrors,
    close: () =>
      new Promise<void>((c) => {
        for (const s of sockets) s.destroy();
        srv.close(() => c());
      }),
  };
}

/**
 * A forward proxy (give it as proxyUrl) for virtual-hosted-style S3: it accepts absolute-form
 * requests for `http://<bucket>.<domain>:<port>/<key>` and forwards them to the emulator path-style
 * (`/<bucket>/<key>`, Host rewritten to the emulator), as moto needs. `http://<domain>:<port>/...`
 * and loopback URLs are forwarded unchanged. Anything else, and every CONNECT, gets 403.
 * No name is ever resolved: the target is always `emulator`.
 */
export function virtualHostProxy(emulator: string, domain = "s3.test"): Promise<Front> {
  const seen: Seen[] = [];
  const t = new URL(emulator);
  const esc = domain.replace(/\./g, "\\.");
  const vh = new RegExp(`^([a-z0-9][a-z0-9.-]*)\\.${esc}$`);
  const srv = http.createServer((req, res) => {
    record(seen, "proxy", req);
    const raw = req.url ?? "/";
    if (!/^http:\/\//.test(raw)) {
      res.writeHead(400);
      res.end("forward proxy: absolute-form only");
      return;
    }
    const u = new URL(raw);
    const m = vh.exec(u.hostname);
    let p = u.pathname + u.search;
    if (m) p = `/${m[1]}${u.pathname === "/" ? "" : u.pathname}${u.search}`;
    else if (u.hostname !== domain && !isLoopbackHost(u.hostname)) {
      res.writeHead(403);
      res.end("unexpected host");
      return;
    }
    forward(req, res, t, p, t.host);
  });
  srv.on("connect", (req: http.IncomingMessage, sock: net.Socket) => {
    seen.push({ via: "proxy", method: "CONNECT", url: req.url ?? "", headers: req.headers, at: Date.now(), httpVersion: req.httpVersion });
    sock.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  return start(srv, "http", seen, []);
}

/** A forward proxy spoken to over TLS (proxyUrl https://127.0.0.1:PORT) with `ca`'s leaf; forwards absolute-form loopback requests to `emulator`. */
export function httpsForwardProxy(ca: TestCa, emulator: string): Promise<Front> {
  const seen: Seen[] = [];
  const tlsErrors: string[] = [];
  const t = new URL(emulator);
  const srv = https.createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    record(seen, "proxy", req);
    const raw = req.url ?? "/";
    if (!/^https?:\/\//.test(raw) || !isLoopbackHost(new URL(raw).hostname)) {
      res.writeHead(403);
      res.end("loopback absolute-form only");
      return;
    }
    const u = new URL(raw);
    forward(req, res, t, u.pathname + u.search);
  });
  srv.on("tlsClientError", (e: Error) => tlsErrors.push(e.message));
  srv.on("connect", (req: http.IncomingMessage, sock: net.Socket) => {
    seen.push({ via: "proxy", method: "CONNECT", url: req.url ?? "", headers: req.headers, at: Date.now(), httpVersion: req.httpVersion });
    sock.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  return start(srv, "https", seen, tlsErrors);
}

/**
 * A TLS-intercepting ("corporate") proxy: plain http proxy; a CONNECT to a loopback host:port is
 * answered 200 and the tunnel is terminated here with `ca`'s leaf for 127.0.0.1; the requests inside
 * go to `emulator` over http. CONNECTs to other hosts get 403.
 */
export function interceptingProxy(ca: TestCa, emulator: string): Promise<Front> {
  const seen: Seen[] = [];
  const tlsErrors: string[] = [];
  const t = new URL(emulator);
  const inner = https.createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    record(seen, "tunnel", req);
    forward(req, res, t, req.url ?? "/");
  });
  inner.on("tlsClientError", (e: Error) => tlsErrors.push(e.message));
  const srv = http.createServer((req, res) => {
    record(seen, "proxy", req);
    res.writeHead(403);
    res.end("CONNECT only");
  });
  srv.on("connect", (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    seen.push({ via: "proxy", method: "CONNECT", url: req.url ?? "", headers: req.headers, at: Date.now(), httpVersion: req.httpVersion });
    const host = (req.url ?? "").replace(/:\d+$/, "");
    if (!isLoopbackHost(host)) {
      sock.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    sock.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head && head.length) sock.unshift(head);
    inner.emit("connection", sock);
  });
  return start(srv, "http", seen, tlsErrors);
}

/** https://127.0.0.1:PORT with `ca`'s leaf in front of `emulator` (http). */
export function tlsFront(ca: TestCa, emulator: string): Promise<Front> {
  const seen: Seen[] = [];
  const tlsErrors: string[] = [];
  const t = new URL(emulator);
  const srv = https.createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    record(seen, "front", req);
    forward(req, res, t, req.url ?? "/");
  });
  srv.on("tlsClientError", (e: Error) => tlsErrors.push(e.message));
  return start(srv, "https", seen, tlsErrors);
}

/**
 * A reverse proxy in front of `emulator` that records each request's HTTP version:
 *  - "http1": node http server (HTTP/1.x only);
 *  - "h2c":   cleartext HTTP/2 with prior knowledge only (an HTTP/1 request fails);
 *  - "alpn":  TLS (`ca`'s leaf) offering h2 and http/1.1 by ALPN, so the client's choice shows.
 * The Host is rewritten to the emulator's.
 */
export function versionFront(kind: "http1" | "h2c" | "alpn", emulator: string, ca?: TestCa): Promise<Front> {
  const seen: Seen[] = [];
  const tlsErrors: string[] = [];
  const t = new URL(emulator);
  const handler = (req: AnyReq, res: AnyRes) => {
    record(seen, kind, req);
    if (kind !== "http1" && (req as http2.Http2ServerRequest).stream) {
      const s = (req as http2.Http2ServerRequest).stream.session;
      const alpn = s && typeof s.alpnProtocol === "string" ? s.alpnProtocol : undefined;
      seen[seen.length - 1].alpn = alpn;
    }
    forward(req, res, t, req.url ?? "/", t.host);
  };
  if (kind === "http1") return start(http.createServer(handler) as unknown as Listener, "http", seen, tlsErrors);
  if (kind === "h2c") return start(http2.createServer(handler) as unknown as Listener, "http", seen, tlsErrors);
  if (!ca) throw new Error("versionFront alpn needs a certificate");
  const srv = http2.createSecureServer({ key: ca.key, cert: ca.cert, allowHTTP1: true }, handler);
  srv.on("tlsClientError", (e: Error) => tlsErrors.push(e.message));
  return start(srv as unknown as Listener, "https", seen, tlsErrors);
}

export interface HangingPort {
  port: number;
  close: () => void;
}

/**
 * A port on 127.0.0.1 where a TCP connect hangs: a listener (python3, which never calls accept)
 * with backlog 0 whose accept queue is filled by a connection kept open here. Linux then drops
 * further SYNs (net.ipv4.tcp_abort_on_overflow=0, the default), so the client keeps retransmitting
 * its SYN until its own connect timeout. Verified with a probe before it is returned (throws if a
 * connect does not hang for 500 ms).
 */
export async function hangingPort(): Promise<HangingPort> {
  const py = spawn("python3", ["-c", [
    "import socket, sys",
    "s = socket.socket()",
    "s.bind(('127.0.0.1', 0))",
    "s.listen(0)",
    "print(s.getsockname()[1], flush=True)",
    "sys.stdin.read()", // until the test closes our stdin
  ].join("\n")], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    py.on("error", reject);
    py.on("exit", (c) => reject(new Error(`python3 exited (${c})`)));
    py.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
  });
  const keep: net.Socket[] = [];
  const close = () => {
    for (const s of keep) s.destroy();
    py.stdin!.end();
    py.kill();
  };
  try {
    for (let i = 0; i < 2; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      keep.push(s);
    }
    await new Promise((r) => setTimeout(r, 100));
    const probe = net.connect(port, "127.0.0.1");
    const state = await new Promise<string>((r) => {
      probe.on("connect", () => r("connected"));
      probe.on("error", (e: NodeJS.ErrnoException) => r(e.code ?? "error"));
      setTimeout(() => r("pending"), 500);
    });
    probe.destroy();
    if (state !== "pending") throw new Error(`hangingPort: a connect did not hang (${state})`);
    return { port, close };
  } catch (e) {
    close();
    throw e;
  }
}
