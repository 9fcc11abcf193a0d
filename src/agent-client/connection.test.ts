import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ProtocolError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { FrameDecoder, FrameKind, INITIAL_WINDOW, encodeFrame } from "../protocol/index.js";
import type { Frame } from "../protocol/index.js";
import { AgentConnection, HandshakeTimeoutError } from "./connection.js";
import { execCollect } from "./exec.js";

/** A scripted fake agent on a unix socket: `script` gets each frame the host sends. */
interface FakeAgent {
  path: string;
  server: Server;
}

const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const agentHello = (over: Record<string, unknown> = {}): Buffer =>
  encodeFrame(
    0,
    FrameKind.HELLO,
    json({
      type: "hello",
      minVersion: 1,
      maxVersion: 1,
      version: 1,
      agentVersion: "test",
      features: ["exec"],
      uptimeMs: 5,
      ...over,
    }),
  );
const control = (stream: number, o: unknown): Buffer => encodeFrame(stream, FrameKind.CONTROL, json(o));

const makeDir = tempDirs("msb-fake-agent-", { after: "each" });
const agents: FakeAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.server.close();
});

function fakeAgent(onFrame: (frame: Frame, socket: Socket) => void): FakeAgent {
  const dir = makeDir();
  const path = join(dir, "agent.sock");
  const server = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) onFrame(frame, socket);
    });
    socket.on("error", () => undefined);
  });
  server.listen(path);
  const agent = { path, server };
  agents.push(agent);
  return agent;
}

async function connect(agent: FakeAgent): Promise<AgentConnection> {
  const socket = createConnection(agent.path);
  await new Promise((resolve) => socket.once("connect", resolve));
  return AgentConnection.connect(socket, { timeoutMs: 2000 });
}

/** A well-behaved agent that answers the HELLO and runs `onExec` for exec.start. */
function helloThen(onControl: (frame: Frame, socket: Socket) => void): FakeAgent {
  return fakeAgent((frame, socket) => {
    if (frame.kind === FrameKind.HELLO) socket.write(agentHello());
    else if (frame.kind === FrameKind.CONTROL) onControl(frame, socket);
  });
}

describe("AgentConnection handshake", () => {
  it("negotiates and exposes the agent hello", async () => {
    const conn = await connect(helloThen(() => undefined));
    expect(conn.hello.agentVersion).toBe("test");
    expect(conn.hello.version).toBe(1);
    conn.close();
  });

  it("rejects garbage before the handshake", async () => {
    const agent = fakeAgent((_f, socket) => socket.write("login: root\r\nPassword: "));
    await expect(connect(agent)).rejects.toBeInstanceOf(ProtocolError);
  });

  it("rejects a non-HELLO first frame", async () => {
    const agent = fakeAgent((_f, socket) => socket.write(control(0, { type: "pong", id: 1 })));
    await expect(connect(agent)).rejects.toThrow(/before its HELLO/);
  });

  it("rejects a version mismatch with a version error", async () => {
    const agent = fakeAgent((_f, socket) =>
      socket.write(agentHello({ minVersion: 7, maxVersion: 9, version: 0 })),
    );
    await expect(connect(agent)).rejects.toMatchObject({ code: "MSB_ERR_PROTOCOL_VERSION" });
  });

  it("times out when the agent never answers", async () => {
    const agent = fakeAgent(() => undefined);
    const socket = createConnection(agent.path);
    const failure = AgentConnection.connect(socket, { timeoutMs: 100 });
    await expect(failure).rejects.toBeInstanceOf(HandshakeTimeoutError);
    await expect(failure).rejects.toMatchObject({ code: "MSB_ERR_PROTOCOL", timeoutMs: 100 });
  });
});

describe("exec over a fake agent", () => {
  it("collects output, exit code and honours the window", async () => {
    const conn = await connect(
      helloThen((frame, socket) => {
        const msg = JSON.parse(frame.payload.toString()) as { type: string };
        if (msg.type !== "exec.start") return;
        socket.write(control(frame.stream, { type: "exec.started", pid: 42 }));
        socket.write(encodeFrame(frame.stream, FrameKind.STDOUT, Buffer.from("out")));
        socket.write(encodeFrame(frame.stream, FrameKind.STDERR, Buffer.from("err")));
        socket.write(encodeFrame(frame.stream, FrameKind.STDOUT));
        socket.write(encodeFrame(frame.stream, FrameKind.STDERR));
        socket.write(control(frame.stream, { type: "exec.exited", code: 3, signal: 0, timedOut: false }));
      }),
    );
    const result = await execCollect(conn, { argv: ["x"] });
    expect(result).toMatchObject({ code: 3, signal: 0, timedOut: false });
    expect(result.stdout.toString()).toBe("out");
    expect(result.stderr.toString()).toBe("err");
    conn.close();
  });

  it("maps a command-not-found error", async () => {
    const conn = await connect(
      helloThen((frame, socket) => {
        socket.write(
          control(frame.stream, {
            type: "error",
            code: "ENOENT",
            message: "command not found: nope",
            field: "argv[0]",
          }),
        );
      }),
    );
    await expect(execCollect(conn, { argv: ["nope"] })).rejects.toMatchObject({
      code: "MSB_ERR_COMMAND_NOT_FOUND",
      command: "nope",
    });
    conn.close();
  });
});

describe("hostile frames after the handshake", () => {
  const hostile: [string, (stream: number) => Buffer][] = [
    ["an oversized length", () => Buffer.from("ffffffff0000000104", "hex")],
    ["an unknown kind", (s) => encodeFrame(s, 0x7f as FrameKind, Buffer.from("x"))],
    ["a control payload that is not JSON", (s) => encodeFrame(s, FrameKind.CONTROL, Buffer.from("{nope"))],
    ["an unknown message type", (s) => control(s, { type: "rm -rf" })],
    [
      "an out-of-range exit code",
      (s) => control(s, { type: "exec.exited", code: 999, signal: 0, timedOut: false }),
    ],
    ["data on an unknown stream", () => encodeFrame(9999, FrameKind.STDOUT, Buffer.from("x"))],
    ["a host-only frame kind", (s) => encodeFrame(s, FrameKind.STDIN, Buffer.from("x"))],
    ["a window overrun", (s) => encodeFrame(s, FrameKind.STDOUT, Buffer.alloc(INITIAL_WINDOW + 1))],
    ["a truncated frame then close", () => Buffer.from("0000000a0000000104616263", "hex")],
    ["a second HELLO", () => agentHello()],
  ];
  for (const [name, make] of hostile) {
    it(`fails the pending exec cleanly on ${name}`, async () => {
      const conn = await connect(
        helloThen((frame, socket) => {
          socket.write(make(frame.stream), () => socket.end());
        }),
      );
      const closed = new Promise<Error>((resolve) => {
        conn.onClose(resolve);
      });
      await expect(execCollect(conn, { argv: ["x"] })).rejects.toBeInstanceOf(ProtocolError);
      expect(await closed).toBeInstanceOf(ProtocolError);
      expect(() => conn.openStream({ type: "stats" }, { onAbort() {}, onData() {}, onMessage() {} })).toThrow(
        ProtocolError,
      );
    });
  }
});
