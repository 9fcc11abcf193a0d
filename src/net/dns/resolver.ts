/**
 * The sandbox's DNS resolver: every guest query (UDP or TCP, port 53, any address) is answered here. Blocked
 * names get NXDOMAIN; everything else is forwarded to the upstream servers; rebind protection drops answers
 * that point a name at a non-public address; the addresses of the answers feed the {@link NameCache}.
 *
 * @packageDocumentation
 */
import type * as DnsPacket from "dns-packet";
import type { Answer, Packet } from "dns-packet";
import { LazyModule } from "../../os/lazy-module.js";
import { parseIpAddress, formatIpAddress } from "../ip/address.js";
import { isPublicAddress } from "../ip/special.js";
import { type DomainBlockLists, isDomainBlocked } from "../policy/domain.js";
import type { NameCache } from "./name-cache.js";
import type { DnsServer } from "./servers.js";
import { queryUpstream } from "./upstream.js";

/** The DNS codec, loaded with the first query (see `lazy-module.ts`). */
const dnsPacket = new LazyModule<typeof DnsPacket>("dns-packet");

/** Largest query accepted from the guest. */
const MAX_QUERY = 4096;

/** DNS response codes used here. */
const Rcode = Object.freeze({ formErr: 1, servFail: 2, nxDomain: 3, notImp: 4 } as const);

/** Options of a {@link DnsResolver}. */
export interface DnsResolverOptions {
  readonly servers: readonly DnsServer[];
  readonly blockLists: DomainBlockLists;
  readonly rebindProtection: boolean;
  readonly names: NameCache;
  /** Per upstream server (default 2000 ms). */
  readonly timeoutMs?: number;
}

/** Counters of a resolver. */
export interface DnsCounters {
  queries: number;
  blocked: number;
  rebindDropped: number;
  failures: number;
}

function decode(bytes: Uint8Array): Packet | undefined {
  try {
    return dnsPacket.get().decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    if (err instanceof Error) return undefined; // malformed guest or upstream bytes
    throw err;
  }
}

/** A bare response to `query` (its id, RD and question) with `rcode` and no records. */
function errorResponse(query: Uint8Array, rcode: number, packet?: Packet): Buffer | undefined {
  if (query.length < 12) return undefined;
  const header = Buffer.from(query.subarray(0, 12));
  const rd = (header[2] ?? 0) & 0x01;
  if (packet?.questions === undefined || packet.questions.length !== 1) {
    header[2] = 0x80 | ((header[2] ?? 0) & 0x78) | rd; // QR, opcode, RD
    header[3] = 0x80 | rcode; // RA
    header.fill(0, 4, 12);
    return header;
  }
  return dnsPacket.get().encode({
    type: "response",
    id: packet.id ?? 0,
    flags: (rd ? dnsPacket.get().RECURSION_DESIRED : 0) | dnsPacket.get().RECURSION_AVAILABLE | rcode,
    questions: packet.questions,
  });
}

function isAddressAnswer(a: Answer): a is Answer & { type: "A" | "AAAA"; data: string } {
  return (a.type === "A" || a.type === "AAAA") && typeof a.data === "string";
}

/** Answers guest DNS queries. One per sandbox. */
export class DnsResolver {
  readonly counters: DnsCounters = { queries: 0, blocked: 0, rebindDropped: 0, failures: 0 };
  readonly #options: DnsResolverOptions;

  constructor(options: DnsResolverOptions) {
    this.#options = options;
  }

  /**
   * The answer to one guest query, or undefined when the bytes are not even a DNS header (dropped). Over UDP
   * the limit is the query's EDNS size (else 512): larger answers come back truncated (the guest retries on TCP).
   */
  async answer(query: Uint8Array, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    this.counters.queries++;
    if (query.length > MAX_QUERY) return errorResponse(query, Rcode.formErr);
    const packet = decode(query);
    if (packet === undefined) return errorResponse(query, Rcode.formErr);
    if (packet.type !== "query" || packet.questions?.length !== 1) {
      return errorResponse(query, Rcode.notImp, packet);
    }
    const question = packet.questions[0];
    if (question === undefined) return errorResponse(query, Rcode.formErr);
    if (isDomainBlocked(question.name, this.#options.blockLists)) {
      this.counters.blocked++;
      return errorResponse(query, Rcode.nxDomain, packet);
    }
    let raw: Buffer;
    try {
      raw = await queryUpstream(query, {
        servers: this.#options.servers,
        ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
      });
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      this.counters.failures++;
      return errorResponse(query, Rcode.servFail, packet);
    }
    const response = decode(raw);
    if (response === undefined) {
      this.counters.failures++;
      return errorResponse(query, Rcode.servFail, packet);
    }
    return this.#finish(response, packet, transport);
  }

  #finish(response: Packet, query: Packet, transport: "udp" | "tcp"): Buffer {
    const answers = (response.answers ?? []).filter((a) => this.#keep(a));
    this.#learn(query.questions?.[0]?.name ?? "", answers);
    const out: Packet = {
      ...response,
      id: query.id ?? 0,
      answers,
      // Additional records may carry addresses too (glue); only the OPT record is kept.
      additionals: (response.additionals ?? []).filter((a) => a.type === "OPT"),
    };
    const encoded = dnsPacket.get().encode(out);
    const limit = transport === "tcp" ? 65535 : udpLimit(query);
    if (encoded.length <= limit) return encoded;
    return dnsPacket.get().encode({
      ...out,
      flags: (out.flags ?? 0) | dnsPacket.get().TRUNCATED_RESPONSE,
      answers: [],
      authorities: [],
      additionals: [],
    });
  }

  #keep(answer: Answer): boolean {
    if (!this.#options.rebindProtection || !isAddressAnswer(answer)) return true;
    const address = parseIpAddress(answer.data);
    if (address !== undefined && isPublicAddress(address)) return true;
    this.counters.rebindDropped++;
    return false;
  }

  /** Every address answer is recorded under the question's name and every CNAME on the way. */
  #learn(questionName: string, answers: readonly Answer[]): void {
    const names = new Set([questionName]);
    for (const a of answers) {
      names.add(a.name);
      if (a.type === "CNAME" && typeof a.data === "string") names.add(a.data);
    }
    for (const a of answers) {
      if (!isAddressAnswer(a)) continue;
      const address = parseIpAddress(a.data);
      if (address === undefined) continue;
      for (const name of names) this.#options.names.record(formatIpAddress(address), name, a.ttl ?? 0);
    }
  }
}

function udpLimit(query: Packet): number {
  const opt = (query.additionals ?? []).find((a) => a.type === "OPT");
  const size = opt !== undefined && "udpPayloadSize" in opt ? opt.udpPayloadSize : 512;
  return Math.max(512, Math.min(size, 4096));
}
