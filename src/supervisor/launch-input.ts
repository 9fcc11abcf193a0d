/**
 * What a supervisor reads on stdin (see `sdk/launch.ts`): an optional warm hint line, then its spec.
 */
import { isWarmHint } from "./warm-hint.js";
import type { WarmHint } from "./warm-hint.js";

/**
 * Reads a supervisor's stdin to its end: the spec is its last line. A line before it may be a warm hint
 * (`{"warm":...}`), on which a spare starts warming a VM at once (see `spare-vm.ts`) while it waits for the spec.
 * Throws on a first line that is not a hint.
 */
export async function readLaunchInput(
  input: AsyncIterable<Buffer>,
  onHint: (hint: WarmHint) => void,
): Promise<string> {
  const chunks: Buffer[] = [];
  let hinted = false;
  for await (const chunk of input) {
    chunks.push(chunk);
    if (hinted || !chunk.includes(NEWLINE)) continue;
    // Decoded only whole: a chunk may end inside a UTF-8 sequence.
    const text = Buffer.concat(chunks);
    const end = text.indexOf(NEWLINE);
    hinted = true;
    const first = JSON.parse(text.subarray(0, end).toString("utf8")) as { warm?: unknown };
    if (!isWarmHint(first.warm)) throw new Error("the supervisor's first line is not a warm hint");
    chunks.splice(0, chunks.length, text.subarray(end + 1));
    onHint(first.warm);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const NEWLINE = 0x0a;
