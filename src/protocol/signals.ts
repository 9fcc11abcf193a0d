/**
 * Signal names of the guest (Linux, same numbers on x86_64 and aarch64) and their parsing, for options such as
 * `stopSignal`. The host's own numbering (macOS differs) is never used for the guest.
 */

const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/**
 * The guest signal number of `value`: a name (`"SIGTERM"`, `"TERM"`, any case), `"SIGRTMIN+3"`, or a number
 * from 1 to 64 (also as a string, as an image's `StopSignal` may be). Undefined when it is none of those.
 */
export function guestSignalNumber(value: unknown): number | undefined {
  if (typeof value === "number")
    return Number.isInteger(value) && value >= 1 && value <= 64 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim().toUpperCase();
  if (/^\d+$/.test(text)) return guestSignalNumber(Number(text));
  const name = text.startsWith("SIG") ? text : `SIG${text}`;
  const rt = /^SIGRTMIN\+(\d+)$/.exec(name);
  if (rt?.[1] !== undefined) return guestSignalNumber(34 + Number(rt[1]));
  if (name === "SIGRTMIN") return 34;
  return LINUX_SIGNALS[name];
}
