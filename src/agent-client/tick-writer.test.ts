import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { TickWriter } from "./tick-writer.js";

/** A writable that records each write it is handed (a `writev` of several chunks counts as one). */
function recorder(): { stream: Writable; writes: string[][] } {
  const writes: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      done();
    },
  });
  return { stream, writes };
}

const nextTick = (): Promise<void> =>
  new Promise((resolve) => {
    process.nextTick(resolve);
  });
const macrotask = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

describe("TickWriter", () => {
  it("hands the frames of one tick to the stream in one write, in order", async () => {
    const { stream, writes } = recorder();
    const writer = new TickWriter(stream);
    writer.write(Buffer.from("a"));
    writer.write(Buffer.from("b"));
    writer.write(Buffer.from("c"));
    expect(writes).toEqual([]);
    await macrotask();
    expect(writes).toEqual([["a", "b", "c"]]);
  });

  it("writes each tick's frames separately", async () => {
    const { stream, writes } = recorder();
    const writer = new TickWriter(stream);
    writer.write(Buffer.from("a"));
    await nextTick();
    await macrotask();
    writer.write(Buffer.from("b"));
    await macrotask();
    expect(writes).toEqual([["a"], ["b"]]);
  });

  it("flush hands this tick's frames over at once, and later writes of the tick still go out", async () => {
    const { stream, writes } = recorder();
    const writer = new TickWriter(stream);
    writer.write(Buffer.from("a"));
    writer.write(Buffer.from("b"));
    writer.flush();
    expect(writes).toEqual([["a", "b"]]);
    writer.write(Buffer.from("c"));
    writer.flush();
    writer.flush();
    await macrotask();
    expect(writes).toEqual([["a", "b"], ["c"]]);
    expect(stream.writableCorked).toBe(0);
  });
});
