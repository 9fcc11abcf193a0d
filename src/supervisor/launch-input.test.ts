import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readLaunchInput } from "./launch-input.js";
import type { WarmHint } from "./warm-hint.js";

const hint: WarmHint = {
  home: "/h",
  disk: { imageDigest: "sha256:abc", baseDisk: "/h/base.ext4", template: true },
  cpus: 1,
  memoryMib: 512,
  nic: true,
};
const spec = JSON.stringify({ name: "ünïcode-€", env: { NOTE: "日本語" } });

/** `text` as the stream of `size`-byte chunks a pipe may deliver. */
function chunked(text: string, size: number): AsyncIterable<Buffer> {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

describe("readLaunchInput", () => {
  it("reads a spec alone, with no hint", async () => {
    const hints: WarmHint[] = [];
    expect(await readLaunchInput(chunked(spec, 1024), (h) => hints.push(h))).toBe(spec);
    expect(hints).toEqual([]);
  });

  it("hands the hint over as soon as its line is in, whatever the chunks, and returns the spec whole", async () => {
    for (const size of [1, 3, 7, 4096]) {
      const seen: { hint: WarmHint; before: boolean }[] = [];
      let done = false;
      const input = JSON.stringify({ warm: hint }) + "\n" + spec;
      const reading = readLaunchInput(chunked(input, size), (h) => seen.push({ hint: h, before: !done }));
      const text = await reading;
      done = true;
      expect(text).toBe(spec);
      expect(seen).toEqual([{ hint, before: true }]);
    }
  });

  it("refuses a first line that is not a hint", async () => {
    await expect(
      readLaunchInput(chunked('{"warm":{"cpus":1}}\n' + spec, 64), () => undefined),
    ).rejects.toThrow(/not a warm hint/);
  });
});
