import { describe, expect, it } from "vitest";
import { ByteQueue } from "./byte-queue.js";

function sequence(start: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) % 251);
}

describe("ByteQueue", () => {
  it("reads and drops across block boundaries", () => {
    const queue = new ByteQueue();
    queue.push(sequence(0, 20000));
    queue.push(sequence(20000, 30000));
    expect(queue.length).toBe(50000);
    expect(queue.read(16380, 10)).toEqual(sequence(16380, 10));
    queue.drop(16390);
    expect(queue.read(0, 5)).toEqual(sequence(16390, 5));
    expect(queue.read(33605, 100)).toEqual(sequence(49995, 5));
    queue.drop(100000);
    expect(queue.length).toBe(0);
    expect(queue.read(0, 10)).toEqual(new Uint8Array());
  });

  it("keeps many tiny writes cheap and in order", () => {
    const queue = new ByteQueue();
    for (let i = 0; i < 40000; i++) queue.push(Uint8Array.of(i % 251));
    expect(queue.read(0, 40000)).toEqual(sequence(0, 40000));
    queue.drop(39999);
    expect(queue.read(0, 10)).toEqual(Uint8Array.of(39999 % 251));
  });

  it("wraps around the ring and grows without reordering", () => {
    const queue = new ByteQueue();
    queue.push(sequence(0, 12000));
    queue.drop(10000);
    queue.push(sequence(12000, 8000)); // wraps the 16 KiB ring
    expect(queue.read(0, 10000)).toEqual(sequence(10000, 10000));
    expect(queue.read(3000, 4000)).toEqual(sequence(13000, 4000));
    queue.push(sequence(20000, 30000)); // grows while wrapped
    expect(queue.length).toBe(40000);
    expect(queue.read(0, 40000)).toEqual(sequence(10000, 40000));
    queue.drop(40000);
    queue.push(sequence(7, 3));
    expect(queue.read(0, 3)).toEqual(sequence(7, 3));
  });

  it("copies on push and clamps bad ranges", () => {
    const queue = new ByteQueue();
    const source = Uint8Array.of(1, 2, 3);
    queue.push(source);
    source.fill(9);
    expect(queue.read(-5, 2)).toEqual(Uint8Array.of(1, 2));
    expect(queue.read(1, -1)).toEqual(new Uint8Array());
    queue.drop(-1);
    expect(queue.length).toBe(3);
  });
});
