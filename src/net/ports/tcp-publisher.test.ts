import { type AddressInfo, type Server, type Socket, connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { decodeFrame } from "../packet/decode.js";
import { TcpFlag } from "../packet/tcp.js";
import { guestTcp, stackHarness } from "../stack/harness.fixture.js";
import type { InboundRetry } from "./inbound-retry.js";
import { DEFAULT_INBOUND_RETRY, retryDelay } from "./inbound-retry.js";
import { SourcePorts } from "./source-ports.js";
import { publishTcp } from "./tcp-publisher.js";

const GUEST_PORT = 8000;
const GATEWAY = "10.0.2.2";

interface SynSeen {
  readonly sourcePort: number;
  readonly seq: number;
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.reverse()) step();
  cleanup = [];
});

/** A stack harness with GUEST_PORT published on a free loopback port, and a reader of the SYNs it sent. */
async function published(retry: InboundRetry) {
  const h = stackHarness();
  const server: Server = await publishTcp({
    ctx: h.ctx,
    relay: h.tcp,
    ports: new SourcePorts(),
    mapping: { protocol: "tcp", hostPort: 0, guestPort: GUEST_PORT },
    address: "127.0.0.1",
    retry,
  });
  cleanup.push(() => {
    server.close();
    h.close();
  });
  const port = (server.address() as AddressInfo).port;
  /** TCP segments the stack sent to the guest, in order. */
  const segments = () =>
    h.sent.flatMap((frame) => {
      const d = decodeFrame(frame);
      return d.ok && d.value.kind === "ipv4" && d.value.transport.kind === "tcp"
        ? [d.value.transport.tcp]
        : [];
    });
  const syns = (): SynSeen[] =>
    segments()
      .filter((t) => t.flags === TcpFlag.syn && t.destinationPort === GUEST_PORT)
      .map((t) => ({ sourcePort: t.sourcePort, seq: t.seq }));
  /** Waits (bounded) until `n` SYNs were sent. */
  const synNumber = async (n: number): Promise<SynSeen> => {
    for (let i = 0; i < 200 && syns().length < n; i++) await sleep(10);
    const syn = syns()[n - 1];
    if (syn === undefined) throw new Error(`no SYN number ${n} (saw ${syns().length})`);
    return syn;
  };
  /** The guest answers `syn` with RST (nothing listens). */
  const refuse = (syn: SynSeen) => {
    h.feed(
      guestTcp(GATEWAY, syn.sourcePort, GUEST_PORT, {
        seq: 0,
        ack: (syn.seq + 1) >>> 0,
        flags: TcpFlag.rst | TcpFlag.ack,
      }),
    );
  };
  return { h, port, segments, syns, synNumber, refuse };
}

function client(port: number): Socket {
  const socket = connect({ host: "127.0.0.1", port });
  cleanup.push(() => socket.destroy());
  return socket;
}

describe("published TCP port, guest not listening yet", () => {
  it("tries the guest again after a refusal and then carries the connection", async () => {
    const p = await published({ windowMs: 3000, firstDelayMs: 20, maxDelayMs: 100 });
    const socket = client(p.port);
    const errors: Error[] = [];
    socket.on("error", (err) => errors.push(err));
    p.refuse(await p.synNumber(1));
    p.refuse(await p.synNumber(2));
    const third = await p.synNumber(3);
    // Each attempt is a fresh connection from its own gateway port.
    expect(new Set(p.syns().map((s) => s.sourcePort)).size).toBe(3);
    // The guest accepts the third: SYN-ACK, then the stack ACKs and the client's bytes flow.
    const guestIsn = 7000;
    p.h.feed(
      guestTcp(GATEWAY, third.sourcePort, GUEST_PORT, {
        seq: guestIsn,
        ack: (third.seq + 1) >>> 0,
        flags: TcpFlag.syn | TcpFlag.ack,
      }),
    );
    socket.write("GET / HTTP/1.0\r\n\r\n");
    let payload: Uint8Array | undefined;
    for (let i = 0; i < 200 && payload === undefined; i++) {
      payload = p.segments().find((t) => t.sourcePort === third.sourcePort && t.payload.length > 0)?.payload;
      if (payload === undefined) await sleep(10);
    }
    expect(Buffer.from(payload ?? []).toString()).toBe("GET / HTTP/1.0\r\n\r\n");
    // And the guest's answer reaches the client.
    const received = new Promise<string>((resolve) =>
      socket.once("data", (d: Buffer) => {
        resolve(d.toString());
      }),
    );
    p.h.feed(
      guestTcp(GATEWAY, third.sourcePort, GUEST_PORT, {
        seq: guestIsn + 1,
        ack: (third.seq + 1 + (payload?.length ?? 0)) >>> 0,
        flags: TcpFlag.ack | TcpFlag.psh,
        payload: Buffer.from("HTTP/1.0 200 OK\r\n\r\n"),
      }),
    );
    expect(await received).toBe("HTTP/1.0 200 OK\r\n\r\n");
    expect(errors).toEqual([]);
  });

  it("resets the client once the retry window is spent, after a bounded number of attempts", async () => {
    const p = await published({ windowMs: 300, firstDelayMs: 20, maxDelayMs: 80 });
    const socket = client(p.port);
    const closed = new Promise<string>((resolve) => {
      socket.on("error", (err: NodeJS.ErrnoException) => {
        resolve(err.code ?? err.message);
      });
      socket.on("close", () => {
        resolve("closed");
      });
    });
    const started = performance.now();
    // The guest refuses every attempt, as soon as it sees it.
    const refuser = setInterval(() => {
      for (const syn of p.syns()) p.refuse(syn);
    }, 5);
    cleanup.push(() => {
      clearInterval(refuser);
    });
    expect(await closed).toBe("ECONNRESET");
    const elapsed = performance.now() - started;
    // Delays 20, 40, 80, 80, 80 fit in 300 ms: six attempts in all, never more.
    expect(p.syns().length).toBeGreaterThanOrEqual(2);
    expect(p.syns().length).toBeLessThanOrEqual(6);
    expect(elapsed).toBeLessThan(2000);
  });

  it("never retries with a zero window", async () => {
    const p = await published({ windowMs: 0, firstDelayMs: 10, maxDelayMs: 10 });
    const socket = client(p.port);
    const closed = new Promise<string>((resolve) => {
      socket.on("error", (err: NodeJS.ErrnoException) => {
        resolve(err.code ?? err.message);
      });
    });
    p.refuse(await p.synNumber(1));
    expect(await closed).toBe("ECONNRESET");
    expect(p.syns()).toHaveLength(1);
  });
});

describe("retryDelay", () => {
  it("doubles up to the cap and ends with the window", () => {
    const r = DEFAULT_INBOUND_RETRY;
    expect([0, 1, 2, 3, 4, 5].map((n) => retryDelay(r, n, 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(retryDelay(r, 3, 4700)).toBeUndefined();
    expect(retryDelay(r, 0, 4950)).toBe(50);
    expect(retryDelay(r, 1000, 0)).toBe(500);
  });
});
