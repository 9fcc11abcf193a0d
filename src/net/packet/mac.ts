/**
 * MAC addresses as lowercase colon-separated strings (`"02:00:00:00:00:01"`).
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** The broadcast MAC address. */
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";

/** True when `text` is a MAC address in `aa:bb:cc:dd:ee:ff` form (either case). */
export function isMac(text: string): boolean {
  return MAC.test(text);
}

/** Formats the 6 bytes at `offset` of `bytes` as a MAC address (missing bytes read as 0). */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[offset + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Writes a MAC address into `bytes` at `offset`. Throws {@link PacketError} when `mac` is not a MAC address. */
export function writeMac(bytes: Uint8Array, offset: number, mac: string): void {
  if (!isMac(mac)) throw new PacketError(`"${mac}" is not a MAC address`);
  for (let i = 0; i < 6; i++) bytes[offset + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}
