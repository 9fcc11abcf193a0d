/**
 * Sending one query to the upstream resolvers: UDP from a fresh socket (random source port, the answer must come
 * from the server and carry the query's id), TCP when the answer is truncated, the next server on timeout.
 *
 * @packageDocumentation
 */
import { createSocket } from "node:dgram";
import { createConnection } from "node:net";
import { NetworkError } from "../../errors.js";
import type { DnsServer } from "./servers.js";

/** Largest DNS message over TCP (the 2-byte length prefix). */
export const MAX_DNS_MESSAGE = 65535;

/** Options of {@link queryUpstream}. */
export interface UpstreamOptions {
  readonly servers: readonly DnsServer[];
  /** Per server and transport (default 2000 ms). */
  readonly timeoutMs?: number;
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length >= 2 && b.length >= 12 && a[0] === b[0] && a[1] === b[1];
}

function isTruncated(answer: Uint8Array): boolean {
  return ((answer[2] ?? 0) & 0x02) !== 0;
}

function queryUdp(server: DnsServer, query: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.family === 4 ? "udp4" : "udp6");
    const timer = setTimeout(() => {
      finish(
        new NetworkError(`DNS server ${server.address}:${server.port} did not answer in ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const finish = (result: Buffer | Error): void => {
      clearTimeout(timer);
      socket.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on("error", (err) => {
      finish(err);
    });
    socket.on("message", (message, from) => {
      if (from.address !== server.address || from.port !== server.port || !sameId(query, message)) return;
      finish(message);
    });
    socket.connect(server.port, server.address, () => {
      socket.send(query);
    });
  });
}

function queryTcp(server: DnsServer, query: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: server.address, port: server.port });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(new NetworkError(`DNS server ${server.address}:${server.port} (TCP) timed out`));
    });
    socket.on("error", reject);
    socket.on("connect", () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.end(Buffer.concat([prefix, query]));
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > 2 + MAX_DNS_MESSAGE) {
        socket.destroy(new NetworkError("DNS answer over TCP too long"));
        return;
      }
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const answer = received.subarray(2, 2 + length);
      socket.destroy();
      if (sameId(query, answer)) resolve(answer);
      else reject(new NetworkError("DNS answer over TCP with a wrong id"));
    });
    socket.on("end", () => {
      reject(new NetworkError("DNS server closed the TCP connection without an answer"));
    });
  });
}

/**
 * Sends `query` (a complete DNS message) to the servers in order until one answers; TCP after a truncated UDP
 * answer. Rejects with the last error when none answers.
 */
export async function queryUpstream(query: Uint8Array, options: UpstreamOptions): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 2000;
  let lastError: unknown = new NetworkError("no upstream DNS server configured");
  for (const server of options.servers) {
    try {
      const answer = await queryUdp(server, query, timeoutMs);
      return isTruncated(answer) ? await queryTcp(server, query, timeoutMs) : answer;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
