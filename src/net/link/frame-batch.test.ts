import { describe, expect, it } from "vitest";
import { FrameBatch } from "./frame-batch.js";

/** A writer that records each write and completes it only when told. */
function recorder() {
  const writes: { bytes: Buffer; done: () => void }[] = [];
  return {
    writes,
    write: (bytes: Buffer, done: () => void) => {
      writes.push({ bytes: Buffer.from(bytes), done });
    },
  };
}

const tick = () =>
  new Promise<void>((resolve) => {
    process.nextTick(resolve);
  });

function frame(batch: FrameBatch, size: number, fill: number): boolean {
  const room = batch.reserve(size);
  room.fill(fill);
  return batch.commit(room);
}

describe("FrameBatch", () => {
  it("sends the frames of one turn in one write, in order", async () => {
    const sink = recorder();
    const batch = new FrameBatch(sink.write, { slabBytes: 1024, maxQueuedBytes: 4096 });
    expect(frame(batch, 10, 1)).toBe(true);
    expect(frame(batch, 20, 2)).toBe(true);
    expect(batch.append(Uint8Array.of(3, 3, 3))).toBe(true);
    expect(sink.writes).toHaveLength(0);
    await tick();
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]?.bytes).toEqual(
      Buffer.concat([Buffer.alloc(10, 1), Buffer.alloc(20, 2), Buffer.from([3, 3, 3])]),
    );
    frame(batch, 5, 4);
    await tick();
    expect(sink.writes[1]?.bytes).toEqual(Buffer.alloc(5, 4));
  });

  it("moves to another slab when one is full and reuses slabs once written", async () => {
    const sink = recorder();
    const batch = new FrameBatch(sink.write, { slabBytes: 100, maxQueuedBytes: 200 });
    frame(batch, 60, 1);
    frame(batch, 60, 2); // does not fit: the first slab is flushed, a second one starts
    expect(sink.writes).toHaveLength(1);
    expect(batch.allocatedBytes).toBe(200);
    await tick();
    expect(sink.writes).toHaveLength(2);
    for (const w of sink.writes) w.done();
    frame(batch, 60, 3);
    frame(batch, 60, 4);
    await tick();
    expect(batch.allocatedBytes).toBe(200);
    expect(sink.writes.slice(2).map((w) => w.bytes[0])).toEqual([3, 4]);
  });

  it("drops frames while every slab waits on the socket, then recovers", async () => {
    const sink = recorder();
    const batch = new FrameBatch(sink.write, { slabBytes: 100, maxQueuedBytes: 200 });
    frame(batch, 90, 1);
    frame(batch, 90, 2);
    expect(frame(batch, 90, 3)).toBe(false);
    expect(batch.append(new Uint8Array(90))).toBe(false);
    await tick();
    expect(sink.writes.map((w) => w.bytes[0])).toEqual([1, 2]);
    sink.writes[0]?.done();
    expect(frame(batch, 90, 5)).toBe(true);
    await tick();
    expect(sink.writes.map((w) => w.bytes[0])).toEqual([1, 2, 5]);
    expect(batch.allocatedBytes).toBe(200);
  });

  it("commits a reservation once, never a foreign buffer, and refuses frames larger than a slab", () => {
    const batch = new FrameBatch(recorder().write, { slabBytes: 100 });
    const room = batch.reserve(10);
    expect(batch.commit(room)).toBe(true);
    expect(batch.commit(room)).toBe(false);
    expect(batch.commit(Buffer.alloc(10))).toBe(false);
    expect(() => batch.reserve(101)).toThrow(RangeError);
  });
});
