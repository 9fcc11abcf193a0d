/** A pull progress bar on stderr: one line per layer on a TTY, a summary line otherwise. */
import type { PullEvent } from "../image/progress.js";
import { size } from "./output.js";

/** Returns a listener that draws pull progress to `stream`. */
export function pullProgress(stream: NodeJS.WriteStream = process.stderr): (event: PullEvent) => void {
  const layers = new Map<string, { done: number; total: number; cached: boolean }>();
  let drawn = 0;
  const bar = (done: number, total: number): string => {
    const width = 30;
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    return `[${"=".repeat(filled)}${" ".repeat(width - filled)}] ${size(done)}/${size(total)}`;
  };
  const draw = (): void => {
    if (!stream.isTTY) return;
    if (drawn > 0) stream.write(`\x1b[${drawn}A`);
    for (const [digest, l] of layers) {
      const state = l.cached ? "already cached" : l.done >= l.total ? "done" : bar(l.done, l.total);
      stream.write(`\x1b[2K${digest.slice(7, 19)}: ${state}\n`);
    }
    drawn = layers.size;
  };
  return (event) => {
    switch (event.type) {
      case "resolved":
        stream.write(`pulling ${event.reference} from ${event.endpoint}\n`);
        for (const l of event.layers) layers.set(l.digest, { done: 0, total: l.size, cached: false });
        draw();
        return;
      case "layer":
        layers.set(event.digest, { done: event.done, total: event.total, cached: event.cached });
        draw();
        return;
      case "done":
        stream.write(`digest: ${event.digest}\n`);
        return;
    }
  };
}
