/**
 * Port specifications of policy rules: `"443"` or `"8000-9000"`.
 *
 * @packageDocumentation
 */

/** An inclusive port range. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

const SINGLE = /^\d{1,5}$/;
const RANGE = /^(\d{1,5})-(\d{1,5})$/;

function inRange(value: number): boolean {
  return value >= 1 && value <= 65535;
}

/** Parses a port specification; returns the range or a message saying what is wrong. */
export function parsePortSpec(
  spec: unknown,
): { ok: true; range: PortRange } | { ok: false; message: string } {
  if (typeof spec !== "string") {
    return { ok: false, message: `must be a string such as "443" or "8000-9000", got ${typeof spec}` };
  }
  if (SINGLE.test(spec)) {
    const port = Number(spec);
    return inRange(port)
      ? { ok: true, range: { low: port, high: port } }
      : { ok: false, message: `port ${spec} is not in 1-65535` };
  }
  const match = RANGE.exec(spec);
  if (match === null)
    return { ok: false, message: `"${spec}" is not a port ("443") or a range ("8000-9000")` };
  const low = Number(match[1]);
  const high = Number(match[2]);
  if (!inRange(low) || !inRange(high)) return { ok: false, message: `range "${spec}" is not within 1-65535` };
  if (low > high) return { ok: false, message: `range "${spec}" is reversed` };
  return { ok: true, range: { low, high } };
}
