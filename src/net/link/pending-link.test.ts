import { existsSync, renameSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { encodeStreamFrame } from "./framing.js";
import { PendingLink, StreamLink } from "./stream-link.js";

const scratchDir = tempDirs("msb-pending-link-");

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  expect(check()).toBe(true);
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => {
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

const frame = (byte: number): Buffer => Buffer.alloc(60, byte);

describe("PendingLink and StreamLink.adopt", () => {
  it("holds QEMU's connection unread until a stack adopts it, after its directory moved", async () => {
    const dir = scratchDir();
    const pending = await PendingLink.listen(join(dir, "net.sock"));
    const qemu = await connect(pending.socketPath);
    qemu.write(encodeStreamFrame(frame(1)));
    qemu.write(encodeStreamFrame(frame(2)));
    await until(() => pending.connected);
    const moved = join(scratchDir(), "run");
    rmSync(moved, { recursive: true, force: true });
    renameSync(dir, moved);
    const received: Buffer[] = [];
    const link = StreamLink.adopt(pending, {
      socketPath: join(moved, "net.sock"),
      maxFrame: 1514,
      onFrame: (f) => received.push(Buffer.from(f)),
      onError: (err) => {
        throw err;
      },
    });
    await until(() => received.length === 2);
    expect(received).toEqual([frame(1), frame(2)]);
    expect(link.connected).toBe(true);
    const toGuest: Buffer[] = [];
    qemu.on("data", (chunk: Buffer) => toGuest.push(chunk));
    link.send(encodeStreamFrame(frame(3)));
    await until(() => Buffer.concat(toGuest).length === 64);
    expect(Buffer.concat(toGuest)).toEqual(encodeStreamFrame(frame(3)));
    expect(() => pending.release()).toThrow(/released already/);
    link.close();
    expect(existsSync(join(moved, "net.sock"))).toBe(false);
    qemu.destroy();
  });

  it("adopts a link QEMU has not connected to yet, and takes the connection when it comes", async () => {
    const pending = await PendingLink.listen(join(scratchDir(), "net.sock"));
    const received: Buffer[] = [];
    const link = StreamLink.adopt(pending, {
      socketPath: pending.socketPath,
      maxFrame: 1514,
      onFrame: (f) => received.push(Buffer.from(f)),
      onError: (err) => {
        throw err;
      },
    });
    const qemu = await connect(pending.socketPath);
    qemu.write(encodeStreamFrame(frame(7)));
    await until(() => received.length === 1);
    link.close();
    qemu.destroy();
  });

  it("drops the connection and stops listening when closed unadopted", async () => {
    const pending = await PendingLink.listen(join(scratchDir(), "net.sock"));
    const qemu = await connect(pending.socketPath);
    await until(() => pending.connected);
    const closed = new Promise<void>((resolve) => {
      qemu.once("close", () => {
        resolve();
      });
    });
    pending.close();
    await closed;
    await expect(connect(pending.socketPath)).rejects.toThrow();
  });
});
