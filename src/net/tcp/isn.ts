/**
 * Initial sequence numbers: random 32-bit values (RFC 6528's goal; the guest is the only peer, so no clock
 * component is needed).
 *
 * @packageDocumentation
 */
import { randomBytes } from "node:crypto";

/** A random initial sequence number. */
export function randomIsn(): number {
  return randomBytes(4).readUInt32BE(0);
}
