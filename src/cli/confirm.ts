/** Asking the user before something destructive, as docker does (`[y/N]`, anything but y/yes is no). */
import { createInterface } from "node:readline/promises";

/** Writes `question [y/N] ` to stderr and reads one line from stdin; end of input means no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  try {
    process.stderr.write(`${question} [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => {
        resolve("");
      });
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
