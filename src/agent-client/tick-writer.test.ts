import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { TickWriter } from "./tick-writer.js";

/** A writable that records each write it is handed, as its chunks (a `writev` of several counts as one write). */
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
    expect(writes).toEqual([["abc"]]); // small frames: joined into one buffer
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
    expect(writes).toEqual([["ab"]]);
    writer.write(Buffer.from("c"));
    writer.flush();
    writer.flush();
    await macrotask();
    expect(writes).toEqual([["ab"], ["c"]]);
    expect(stream.writableCorked).toBe(0);
  });

  it("hands bulk frames over as one writev of the frames themselves, not a joined copy", async () => {
    const { stream, writes } = recorder();
    const writer = new TickWriter(stream);
    const big = Buffer.alloc(64 * 1024, "x");
    writer.write(Buffer.from("a"));
    writer.write(big);
    writer.write(Buffer.from("b"));
    await macrotask();
    expect(writes).toHaveLength(1);
    expect(writes[0]?.map((chunk) => chunk.length)).toEqual([1, big.length, 1]);
    expect(stream.writableCorked).toBe(0);
  });
});
