/**
 * Why a VM ended when nobody asked it to: read from the tail of the guest console (a kernel panic, the
 * out-of-memory killer) and QEMU's exit. The console is guest output: only a bounded tail is read, and what is
 * quoted from it is cut to one short printable line.
 */

/** How much of the console's end is searched: read it with `readTail(path, CONSOLE_TAIL_BYTES)`. */
export const CONSOLE_TAIL_BYTES = 64 * 1024;
/** The longest piece of a console line quoted in a reason. */
const QUOTE_CHARS = 160;

/** How QEMU ended. */
export interface QemuExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** QEMU's line saying KVM stopped the guest for good (QEMU was killed for it). */
  readonly kvmFailure?: string;
}

/* eslint-disable no-control-regex -- removing control characters is the point */
const COLOUR_CODES = /\u001b\[[0-9;]*[A-Za-z]/g;
const CONTROL = /[\u0000-\u001f\u007f]/g;
/* eslint-enable no-control-regex */

function quote(line: string): string {
  return line
    .slice(0, QUOTE_CHARS * 4)
    .replace(COLOUR_CODES, "")
    .replace(CONTROL, " ")
    .trim()
    .slice(0, QUOTE_CHARS);
}

/** The reason a VM ended on its own, from its console tail and QEMU's exit. Pure. */
export function crashReason(consoleTail: string, exit: QemuExit): string {
  const lines = consoleTail.split("\n");
  const panic = lines.findLast((line) => line.includes("Kernel panic - not syncing"));
  const oom = lines.some((line) => /Out of memory|oom-kill|invoked oom-killer/.test(line));
  if (panic !== undefined) {
    const what = quote(panic.slice(panic.indexOf("Kernel panic")));
    return oom || /out of memory/i.test(panic)
      ? `out of memory: the guest kernel panicked (${what})`
      : `guest kernel panic (${what})`;
  }
  if (exit.kvmFailure !== undefined) return `KVM stopped the guest (${quote(exit.kvmFailure)})`;
  if (exit.signal !== null) return `QEMU was killed by ${exit.signal}`;
  if (oom)
    return `out of memory: the VM exited with code ${exit.code ?? "?"} after the guest ran out of memory`;
  return `the VM exited unexpectedly (code ${exit.code ?? "?"})`;
}
