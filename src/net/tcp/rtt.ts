/**
 * Retransmission timeout estimation (RFC 6298).
 *
 * @packageDocumentation
 */

/** Bounds of the retransmission timeout. */
export interface RtoBounds {
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
}

/** Smoothed RTT state. `srtt` is undefined until the first sample. */
export interface RttState {
  readonly srtt: number | undefined;
  readonly rttvar: number;
  readonly rto: number;
}

/** Clock granularity assumed by the estimator (ms). */
const GRANULARITY_MS = 1;

function clamp(value: number, bounds: RtoBounds): number {
  return Math.min(bounds.maxRtoMs, Math.max(bounds.minRtoMs, value));
}

/** The state after one RTT measurement `sampleMs` (RFC 6298 section 2.2 and 2.3). */
export function sampleRtt(state: RttState, sampleMs: number, bounds: RtoBounds): RttState {
  const r = Math.max(0, sampleMs);
  if (state.srtt === undefined) {
    const rttvar = r / 2;
    return { srtt: r, rttvar, rto: clamp(r + Math.max(GRANULARITY_MS, 4 * rttvar), bounds) };
  }
  const rttvar = 0.75 * state.rttvar + 0.25 * Math.abs(state.srtt - r);
  const srtt = 0.875 * state.srtt + 0.125 * r;
  return { srtt, rttvar, rto: clamp(srtt + Math.max(GRANULARITY_MS, 4 * rttvar), bounds) };
}

/** The state after a retransmission timeout: the RTO doubles (RFC 6298 section 5.5), up to the maximum. */
export function backOff(state: RttState, bounds: RtoBounds): RttState {
  return { ...state, rto: clamp(state.rto * 2, bounds) };
}
