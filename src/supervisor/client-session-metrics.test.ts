/**
 * `sup.metrics` through a real `ClientSession` over a unix socket: the sample reaches the client parsed, and a
 * sandbox that is not running answers the typed error, rebuilt with its class on the client's side.
 */
import { createConnection, createServer } from "node:net";
import type { Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentConnection } from "../agent-client/connection.js";
import { AgentError, InvalidStateError } from "../errors.js";
import type { AgentMessage, SupMetricsResult } from "../protocol/messages.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { ClientSession } from "./client-session.js";

const SAMPLE: SupMetricsResult = {
  type: "sup.metrics.result",
  cpuPercent: 12.5,
  guestCpuPercent: 10,
  memoryBytes: 64 * 1024 * 1024,
  memoryLimitBytes: 512 * 1024 * 1024,
  memoryHostResidentBytes: 200 * 1024 * 1024,
  diskReadBytes: 1,
  diskWriteBytes: 2,
  netRxBytes: 3,
  netTxBytes: 4,
  uptimeMs: 5000,
  timestampMs: Date.now(),
};

const makeDir = tempDirs("msb-session-", { after: "each" });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A supervisor-side session whose host answers metrics with `metrics`; resolves with a connected client. */
async function sessionWith(metrics: () => Promise<AgentMessage>): Promise<AgentConnection> {
  const dir = makeDir();
  const path = join(dir, "control.sock");
  const agent = {
    hello: { features: ["exec"], agentVersion: "test", uptimeMs: 1 },
    openStreams: 0,
  } as unknown as AgentConnection;
  const server: Server = createServer((socket) => {
    const session = new ClientSession(socket, {
      agent,
      requestStop: () => Promise.resolve(),
      totals: { clients: 0, streams: 0 },
      metrics,
      drain: () => undefined,
      detach: () => undefined,
      refusal: () => undefined,
    });
    cleanups.push(() => {
      session.close();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => {
    server.close();
  });
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const client = await AgentConnection.connect(socket, { timeoutMs: 5000 });
  cleanups.push(() => {
    client.close();
  });
  return client;
}

const agentError = (r: { code: string; message: string }): Error => new AgentError(r.code, r.message);

describe("sup.metrics in a client session", () => {
  it("answers the sample, advertised as a feature", async () => {
    const client = await sessionWith(() => Promise.resolve(SAMPLE));
    expect(client.hello.features).toContain("sup.metrics");
    expect(await client.call({ type: "sup.metrics" }, agentError)).toEqual(SAMPLE);
  });

  it("a sandbox that is not running is an InvalidStateError on the client, with its hint", async () => {
    const client = await sessionWith(() =>
      Promise.reject(new InvalidStateError("the sandbox is not running", { hint: "start it again first" })),
    );
    const err = await client.call({ type: "sup.metrics" }, agentError).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStateError);
    expect((err as Error).message).toMatch(/not running.*start it again first/);
    // The session survives a failed request.
    await expect(client.call({ type: "sup.metrics" }, agentError)).rejects.toBeInstanceOf(InvalidStateError);
  });

  it("a sample that breaks the reply's shape is refused by the client", async () => {
    const client = await sessionWith(() => Promise.resolve({ ...SAMPLE, cpuPercent: -1 }));
    await expect(client.call({ type: "sup.metrics" }, agentError)).rejects.toThrow(/cpuPercent/);
  });
});
