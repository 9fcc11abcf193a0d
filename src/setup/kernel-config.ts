/**
 * Kconfig fragments and the check that a built kernel's `.config` kept every option a fragment asked for.
 * `make olddefconfig` silently drops an option whose dependencies are not met (or whose name changed between
 * kernel versions); the build must fail instead of producing a kernel without, say, virtio-fs.
 */
import { SetupError } from "../errors.js";

/** Value of one Kconfig option: `y`, `m`, a number or quoted string as written, or `n` for "is not set". */
export type KconfigValue = string;

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/**
 * Parses a `.config` or a fragment: `CONFIG_X=value` lines and `# CONFIG_X is not set` lines (value `n`);
 * other lines (comments, blanks) are ignored.
 *
 * @throws SetupError when a fragment sets the same option twice with different values.
 */
export function parseKconfig(text: string): Map<string, KconfigValue> {
  const options = new Map<string, KconfigValue>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = SET.exec(line);
    const unset = set === null ? UNSET.exec(line) : null;
    const name = set?.[1] ?? unset?.[1];
    if (name === undefined) continue;
    const value = set?.[2] ?? "n";
    const previous = options.get(name);
    if (previous !== undefined && previous !== value) {
      throw new SetupError(`${name} is set twice in the kernel config (${previous} and ${value})`);
    }
    options.set(name, value);
  }
  return options;
}

/** An option of the fragment that the final `.config` does not have as asked. */
export interface LostOption {
  readonly name: string;
  readonly wanted: KconfigValue;
  /** What `.config` has (`n` when absent or not set). */
  readonly got: KconfigValue;
}

/** The options of `fragment` whose value in `dotConfig` differs (absent counts as `n`). */
export function lostOptions(
  fragment: ReadonlyMap<string, KconfigValue>,
  dotConfig: ReadonlyMap<string, KconfigValue>,
): LostOption[] {
  const lost: LostOption[] = [];
  for (const [name, wanted] of fragment) {
    const got = dotConfig.get(name) ?? "n";
    if (got !== wanted) lost.push({ name, wanted, got });
  }
  return lost;
}

/**
 * Checks that `dotConfigText` (the `.config` after `olddefconfig`) kept every option of `fragmentText`.
 *
 * @throws SetupError listing every lost option.
 */
export function assertFragmentApplied(fragmentText: string, dotConfigText: string): void {
  const lost = lostOptions(parseKconfig(fragmentText), parseKconfig(dotConfigText));
  if (lost.length === 0) return;
  const list = lost.map((o) => `${o.name} (wanted ${o.wanted}, got ${o.got})`).join(", ");
  throw new SetupError(`the kernel config lost ${lost.length} option(s) of the fragment: ${list}`, {
    hint: "an option's dependencies are missing from kernel/microvm.config, or it does not exist in this kernel version",
  });
}
