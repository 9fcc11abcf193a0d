/**
 * Runs a command in a sandbox attached to this terminal, as `docker exec -it` does: output as it arrives, stdin
 * forwarded (with backpressure), and with a terminal: raw mode, the window size and its changes (SIGWINCH)
 * forwarded, Ctrl-C typed into the guest's terminal (where it interrupts the command). Resolves with the
 * command's exit code; the local terminal is always restored.
 */
import type { ExecConfig } from "../sdk/exec-config.js";
import type { ExecHandle, ExecSink } from "../sdk/exec-handle.js";
import type { Sandbox } from "../sdk/sandbox.js";

/** How to attach. */
export interface AttachOptions {
  /** Forward this process's stdin (`-i`). */
  readonly interactive: boolean;
  /** Run on a terminal (`-t`); only honoured when stdin is one. */
  readonly tty: boolean;
}

/** Runs `config` attached to this process's stdio; resolves with the exit code. */
export async function attach(sandbox: Sandbox, config: ExecConfig, options: AttachOptions): Promise<number> {
  const stdin = process.stdin;
  const tty = options.tty && stdin.isTTY;
  const size = (): { rows: number; cols: number } => ({
    rows: process.stdout.rows || 24,
    cols: process.stdout.columns || 80,
  });
  const handle = await sandbox.execStreamWithConfig({
    ...config,
    ...(options.interactive ? { stdin: "pipe" } : {}),
    ...(tty ? { tty: size(), env: { TERM: process.env["TERM"] ?? "xterm", ...(config.env ?? {}) } } : {}),
  });
  const onResize = (): void => {
    const { rows, cols } = size();
    void handle.resize(rows, cols);
  };
  const rawBefore = tty ? stdin.isRaw : false;
  if (tty) {
    stdin.setRawMode(true);
    process.stdout.on("resize", onResize);
  }
  const sink = await handle.takeStdin();
  const pump = sink === null ? undefined : forwardInput(sink);
  try {
    return await printEvents(handle);
  } finally {
    pump?.stop();
    if (tty) {
      process.stdout.off("resize", onResize);
      stdin.setRawMode(rawBefore);
    }
  }
}

/** Writes the command's output as it arrives; resolves with its exit code. */
async function printEvents(handle: ExecHandle): Promise<number> {
  let code = 0;
  for await (const event of handle) {
    if (event.eventType === "stdout") await write(process.stdout, event.data);
    else if (event.eventType === "stderr") await write(process.stderr, event.data);
    else if (event.eventType === "exited") code = event.code;
  }
  return code;
}

function write(stream: NodeJS.WriteStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once("drain", resolve);
  });
}

/** Forwards stdin to the sink, pausing while a write waits for the guest's credit; EOF closes the sink. */
function forwardInput(sink: ExecSink): { stop(): void } {
  const stdin = process.stdin;
  const onData = (chunk: Buffer): void => {
    stdin.pause();
    sink.write(chunk).then(
      () => stdin.resume(),
      () => undefined,
    );
  };
  const onEnd = (): void => {
    void sink.close();
  };
  stdin.on("data", onData);
  stdin.once("end", onEnd);
  stdin.resume();
  return {
    stop(): void {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
    },
  };
}
