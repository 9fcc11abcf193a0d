/**
 * The address groups rules can name, as prefixes of both families.
 *
 * @packageDocumentation
 */
import { type Cidr, cidr } from "../ip/cidr.js";
import type { AddressGroup } from "./types.js";

/** The prefixes of each group (IPv4-mapped IPv6 addresses are unmapped before matching). */
export const GROUP_PREFIXES: Readonly<Record<AddressGroup, readonly Cidr[]>> = Object.freeze({
  loopback: [cidr("127.0.0.0/8"), cidr("::1/128")],
  private: [
    cidr("10.0.0.0/8"),
    cidr("172.16.0.0/12"),
    cidr("192.168.0.0/16"),
    cidr("100.64.0.0/10"),
    cidr("fc00::/7"),
  ],
  "link-local": [cidr("169.254.0.0/16"), cidr("fe80::/10")],
  metadata: [cidr("169.254.169.254/32"), cidr("fd00:ec2::254/128")],
  multicast: [cidr("224.0.0.0/4"), cidr("ff00::/8")],
});
