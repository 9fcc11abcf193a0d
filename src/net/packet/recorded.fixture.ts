/**
 * Frames recorded with an AF_PACKET socket on a Linux 6.x veth pair (checksum offload off, so every checksum
 * is the one a real NIC would carry): host 10.77.0.1 (7a:f2:10:74:6e:4d) talking to 10.77.0.2
 * (66:74:3c:01:5d:27). Test data only.
 */

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}

/** The recorded frames, by what they are. */
export const recorded = Object.freeze({
  arpRequest: hex("ffffffffffff7af210746e4d080600010800060400017af210746e4d0a4d00010000000000000a4d0002"),
  arpReply: hex("7af210746e4d66743c015d270806000108000604000266743c015d270a4d00027af210746e4d0a4d0001"),
  /** SYN 10.77.0.1:49462 -> 10.77.0.2:18080 with MSS 1460, SACK-permitted, timestamps, NOP, window scale 10. */
  tcpSyn: hex(
    "66743c015d277af210746e4d08004500003cceba4000400657650a4d00010a4d0002c13646a078df467900000000a002faf0c962" +
      "0000020405b40402080a12559588000000000103030a",
  ),
  tcpSynAck: hex(
    "7af210746e4d66743c015d2708004500003c00004000400626200a4d00020a4d000146a0c1364f2389a078df467aa012fe882a87" +
      "0000020405b40402080a862d3c41125595880103030a",
  ),
  /** PSH/ACK carrying "hello". */
  tcpData: hex(
    "66743c015d277af210746e4d080045000039cebc4000400657660a4d00010a4d0002c13646a078df467a4f2389a18018003f13c0" +
      "00000101080a12559589862d3c4168656c6c6f",
  ),
  tcpFin: hex(
    "66743c015d277af210746e4d080045000034cebe4000400657690a4d00010a4d0002c13646a078df467f4f2389a68011003f572b" +
      "00000101080a125595f1862d3c42",
  ),
  /** A DNS query for example.com/A to 10.77.0.2:53. */
  udpDns: hex(
    "66743c015d277af210746e4d080045000039bdd44000401168430a4d00010a4d0002de32003500252afe12340100000100000000" +
      "0000076578616d706c6503636f6d0000010001",
  ),
  /** The port-unreachable the peer sent back for {@link recorded.udpDns}. */
  icmpPortUnreachable: hex(
    "7af210746e4d66743c015d27080045c0005560480000400105040a4d00020a4d0001030311d00000000045000039bdd440004011" +
      "68430a4d00010a4d0002de32003500252afe123401000001000000000000076578616d706c6503636f6d0000010001",
  ),
  /** A DHCPDISCOVER broadcast from port 68 to 255.255.255.255:67. */
  dhcpDiscover: hex(
    "ffffffffffff7af210746e4d08004500011f56da40004011d8a60a4d0001ffffffff00440043010b1b34010106003903f3260000" +
      "8000000000000000000000000000000000007af210746e4d" +
      "00".repeat(202) +
      "638253633501013d07017af210746e4d37040103060fff",
  ),
});

/** Decodes hex (whitespace ignored) to bytes. */
export function fromHex(text: string): Uint8Array {
  return hex(text);
}

/** A copy of `bytes` with `values` written at `offset`. */
export function patched(bytes: Uint8Array, offset: number, values: readonly number[]): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy.set(values, offset);
  return copy;
}

/** A copy of `bytes` with its IPv4 header checksum (header at `offset`) recomputed. */
export function withIpv4Checksum(bytes: Uint8Array, offset = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const headerLength = ((copy[offset] ?? 0) & 0x0f) * 4;
  copy[offset + 10] = 0;
  copy[offset + 11] = 0;
  let sum = 0;
  for (let i = 0; i < headerLength; i += 2)
    sum += ((copy[offset + i] ?? 0) << 8) | (copy[offset + i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  copy[offset + 10] = (~sum >> 8) & 0xff;
  copy[offset + 11] = ~sum & 0xff;
  return copy;
}
