import type * as net from "net";

/** What http, https, http2 and net servers have in common for listening. */
export interface Listenable {
  listen(port: number, host: string, cb: () => void): unknown;
  close(cb?: (err?: Error) => void): unknown;
  address(): net.AddressInfo | string | null;
}

/**
 * Ports whose digits look like an HTTP status (401/403/404, 5xx). The test
 * servers avoid them so no assertion can pass or fail because a port number
 * appears in a message.
 */
export const confusingPort = (p: number): boolean => /40[134]|50[0-9]/.test(String(p));

/** Listens on a free 127.0.0.1 port that is not a confusing one; returns it. */
export async function listenOnLoopback(srv: Listenable): Promise<number> {
  for (;;) {
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    if (!confusingPort(port)) return port;
    await new Promise<void>((r) => srv.close(() => r()));
  }
}
