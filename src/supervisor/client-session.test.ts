/**
 * The supervisor's client session over a real unix socket pair, against a recording fake of the agent
 * connection: the protocol rules a hostile or broken client meets, the supervisor-local operations, drain
 * refusal, and cancellation of a departed client's streams. The supervisor side never throws.
 */
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentConnection } from "../agent-client/connection.js";
import { execStartMessage } from "../agent-client/exec.js";
import { InvalidStateError } from "../errors.js";
import type { MsbError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { FrameDecoder, FrameKind, encodeFrame } from "../protocol/index.js";
import type { Frame } from "../protocol/index.js";
import { ClientSession } from "./client-session.js";
import type { SessionHost, SessionTotals } from "./client-session.js";

/** What the fake agent saw. */
interface AgentLog {
  opened: string[];
  /** The messages the streams were opened with. */
  messages: Record<string, unknown>[];
  cancelled: number;
}

function fakeAgent(log: AgentLog, options: { inputEnds?: boolean } = {}): AgentConnection {
  const agent = {
    hello: { agentVersion: "test", features: ["exec", "stream.cancel"], uptimeMs: 1 },
    openStreams: 0,
    openStream(message: { type: string }) {
      log.opened.push(message.type);
      log.messages.push(message);
      return {
        isFinished: false,
        cancel: () => {
          log.cancelled++;
        },
        supports: () => true,
        send: () => undefined,
        grant: () => undefined,
        // The guest never takes input (credit is not returned), or refuses it once its input ended.
        write: () =>
          options.inputEnds === true
            ? Promise.reject(new Error("input already ended"))
            : new Promise<void>(() => undefined),
        endInput: () => Promise.resolve(),
      };
    },
  };
  return agent as unknown as AgentConnection;
}

interface Harness {
  readonly client: Socket;
  readonly host: { agent: AgentConnection } & SessionHost & {
      drains: number;
      detaches: number;
      refuse: MsbError | undefined;
      execEnv: Readonly<Record<string, string>> | undefined;
    };
  readonly log: AgentLog;
  readonly totals: SessionTotals;
  /** Frames received so far. */
  readonly frames: Frame[];
  readonly closed: Promise<void>;
}

// Registered before the servers' hook: vitest runs afterEach hooks in reverse order, so servers close first.
const tempDir = tempDirs("msb-session-", { after: "each" });
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function harness(): Promise<Harness> {
  const dir = tempDir();
  const path = join(dir, "s.sock");
  const log: AgentLog = { opened: [], messages: [], cancelled: 0 };
  const totals: SessionTotals = { clients: 0, streams: 0 };
  const host = {
    agent: fakeAgent(log),
    totals,
    drains: 0,
    detaches: 0,
    refuse: undefined as MsbError | undefined,
    execEnv: undefined as Readonly<Record<string, string>> | undefined,
    requestStop: () => Promise.resolve(),
    drain() {
      host.drains++;
    },
    detach() {
      host.detaches++;
    },
    refusal: () => host.refuse,
    metrics: () => Promise.reject(new InvalidStateError("no metrics here")),
  };
  const server = createServer((socket) => new ClientSession(socket, host));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  client.on("data", (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  const closed = new Promise<void>((resolve) =>
    client.once("close", () => {
      resolve();
    }),
  );
  // The session resets a hostile client: the reset is the expected outcome, checked through `closed`.
  client.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE") throw err;
  });
  await new Promise<void>((resolve) => client.once("connect", resolve));
  return { client, host, log, totals, frames, closed };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const hello = encodeFrame(0, FrameKind.HELLO, json({ type: "hello", minVersion: 1, maxVersion: 1 }));

async function replyOn(h: Harness, stream: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const frame = h.frames.find((f) => f.stream === stream && f.kind === FrameKind.CONTROL);
    if (frame) return JSON.parse(frame.payload.toString()) as Record<string, unknown>;
    await sleep(5);
  }
  throw new Error(`no reply on stream ${stream}`);
}

async function greeted(): Promise<Harness> {
  const h = await harness();
  h.client.write(hello);
  for (let i = 0; i < 200 && !h.frames.some((f) => f.kind === FrameKind.HELLO); i++) await sleep(5);
  return h;
}

describe("ClientSession with a hostile client", () => {
  it("closes a client that sends anything before its HELLO", async () => {
    const h = await harness();
    h.client.write(encodeFrame(1, FrameKind.CONTROL, json({ type: "sup.stats" })));
    await h.closed;
    expect(h.totals.clients).toBe(0);
  });

  it("closes a client that sends garbage framing, a reserved stream id, or output frames", async () => {
    for (const bad of [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      encodeFrame(0x8000_0001, FrameKind.CONTROL, json({ type: "sup.stats" })),
      encodeFrame(3, FrameKind.STDOUT, Buffer.from("x")),
    ]) {
      const h = await greeted();
      h.client.write(bad);
      await h.closed;
      expect(h.log.opened).toEqual([]);
    }
  });

  it("answers a bad request on its own stream and keeps the session", async () => {
    const h = await greeted();
    h.client.write(encodeFrame(1, FrameKind.CONTROL, Buffer.from("{not json")));
    h.client.write(encodeFrame(3, FrameKind.CONTROL, json({ type: "no.such.op" })));
    h.client.write(
      encodeFrame(5, FrameKind.CONTROL, json({ ...execStartMessage({ argv: ["x"] }), surprise: 1 })),
    );
    expect(await replyOn(h, 1)).toMatchObject({ type: "error", code: "EINVAL" });
    expect(await replyOn(h, 3)).toMatchObject({ type: "error", code: "ENOTSUP" });
    expect(await replyOn(h, 5)).toMatchObject({ type: "error", code: "EINVAL" });
    h.client.write(encodeFrame(7, FrameKind.CONTROL, json({ type: "sup.stats" })));
    expect(await replyOn(h, 7)).toMatchObject({ type: "sup.stats.result", clients: 1 });
    expect(h.log.opened).toEqual([]);
    h.client.destroy();
  });

  it("routes sup.drain and sup.detach to the supervisor, and refuses relayed work while draining", async () => {
    const h = await greeted();
    h.client.write(encodeFrame(1, FrameKind.CONTROL, json({ type: "sup.drain" })));
    h.client.write(encodeFrame(3, FrameKind.CONTROL, json({ type: "sup.detach" })));
    expect(await replyOn(h, 1)).toEqual({ type: "sup.ok" });
    expect(await replyOn(h, 3)).toEqual({ type: "sup.ok" });
    expect([h.host.drains, h.host.detaches]).toEqual([1, 1]);
    h.host.refuse = new InvalidStateError("sandbox t is draining");
    h.client.write(encodeFrame(5, FrameKind.CONTROL, json(execStartMessage({ argv: ["true"] }))));
    const refused = await replyOn(h, 5);
    expect(refused).toMatchObject({ type: "error", code: "EBUSY", error: { code: "MSB_ERR_INVALID_STATE" } });
    expect(h.log.opened).toEqual([]);
    h.client.destroy();
  });

  it("relays work, and cancels a departed client's streams", async () => {
    const h = await greeted();
    h.client.write(encodeFrame(1, FrameKind.CONTROL, json(execStartMessage({ argv: ["sleep", "9"] }))));
    for (let i = 0; i < 200 && h.log.opened.length === 0; i++) await sleep(5);
    expect(h.log.opened).toEqual(["exec.start"]);
    expect(h.totals.streams).toBe(1);
    h.client.destroy();
    for (let i = 0; i < 200 && h.log.cancelled === 0; i++) await sleep(5);
    expect(h.log.cancelled).toBe(1);
    expect(h.totals.clients).toBe(0);
  });

  it("puts the sandbox's exec environment under each exec's own (the request's values win)", async () => {
    const h = await greeted();
    h.host.execEnv = {
      SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
      NODE_EXTRA_CA_CERTS: "/.msb/tls/ca.pem",
    };
    const env = { SSL_CERT_FILE: "/mine.pem", HOME: "/root" };
    h.client.write(encodeFrame(1, FrameKind.CONTROL, json(execStartMessage({ argv: ["env"], env }))));
    h.client.write(encodeFrame(3, FrameKind.CONTROL, json({ type: "fs.stat", path: "/" })));
    for (let i = 0; i < 200 && h.log.messages.length < 2; i++) await sleep(5);
    expect(h.log.messages[0]?.["env"]).toEqual({
      SSL_CERT_FILE: "/mine.pem",
      HOME: "/root",
      NODE_EXTRA_CA_CERTS: "/.msb/tls/ca.pem",
    });
    expect(h.log.messages[1]).toEqual({ type: "fs.stat", path: "/" });
    h.client.destroy();
  });

  it("survives input sent after the end of input (a rejected write is not an unhandled rejection)", async () => {
    const h = await greeted();
    h.host.agent = fakeAgent(h.log, { inputEnds: true });
    h.client.write(
      encodeFrame(1, FrameKind.CONTROL, json(execStartMessage({ argv: ["cat"], stdin: "pipe" }))),
    );
    for (let i = 0; i < 200 && h.log.opened.length === 0; i++) await sleep(5);
    h.client.write(encodeFrame(1, FrameKind.STDIN));
    h.client.write(encodeFrame(1, FrameKind.STDIN, Buffer.from("late")));
    await sleep(50);
    h.client.write(encodeFrame(3, FrameKind.CONTROL, json({ type: "sup.stats" })));
    expect(await replyOn(h, 3)).toMatchObject({ type: "sup.stats.result", streams: 1 });
    h.client.destroy();
  });

  it("closes a client that overruns its input window", async () => {
    const h = await greeted();
    h.client.write(
      encodeFrame(1, FrameKind.CONTROL, json(execStartMessage({ argv: ["cat"], stdin: "pipe" }))),
    );
    for (let i = 0; i < 200 && h.log.opened.length === 0; i++) await sleep(5);
    const chunk = Buffer.alloc(512 * 1024);
    for (let i = 0; i < 6; i++) h.client.write(encodeFrame(1, FrameKind.STDIN, chunk));
    await h.closed;
    expect(h.log.cancelled).toBe(1);
  });
});
