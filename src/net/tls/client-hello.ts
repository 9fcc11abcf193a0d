/**
 * The TLS ClientHello, read from the guest's first bytes before any upstream connection: the server name (SNI)
 * and the ALPN protocols offered. The bytes are untrusted: the parser is bounded (at most
 * {@link MAX_CLIENT_HELLO_BYTES} of records), never throws, and accepts a hello spread over several records and
 * any number of TCP segments (feed it the bytes received so far; it says when it needs more).
 *
 * @packageDocumentation
 */

/** Bytes of TLS records read while looking for a complete ClientHello; more is a malformed hello. */
export const MAX_CLIENT_HELLO_BYTES = 32 * 1024;

/** What the guest offered. */
export interface ClientHello {
  /** The `host_name` of the server_name extension, lower case, without a trailing dot; undefined if absent. */
  readonly serverName: string | undefined;
  /** ALPN protocol names offered, in the client's order (empty when the extension is absent). */
  readonly alpn: readonly string[];
}

/** The outcome of {@link parseClientHello}. */
export type ClientHelloResult =
  | { readonly kind: "hello"; readonly hello: ClientHello }
  /** The bytes so far are a valid prefix: read more (unless {@link MAX_CLIENT_HELLO_BYTES} are buffered). */
  | { readonly kind: "incomplete" }
  /** Not a TLS ClientHello (or a malformed one): `reason` is for logs. */
  | { readonly kind: "invalid"; readonly reason: string };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const MAX_RECORD = 16_384 + 2_048;
const HOST_NAME = /^[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$/;

const INCOMPLETE: ClientHelloResult = { kind: "incomplete" };
const invalid = (reason: string): ClientHelloResult => ({ kind: "invalid", reason });

/** Parses the ClientHello at the start of `bytes` (everything the guest sent so far). */
export function parseClientHello(bytes: Uint8Array): ClientHelloResult {
  const handshake = handshakeBytes(bytes);
  if (!(handshake instanceof Uint8Array)) return handshake;
  return parseHandshake(handshake);
}

/** The handshake-layer bytes of the leading handshake records, once the first message is complete. */
function handshakeBytes(bytes: Uint8Array): Uint8Array | ClientHelloResult {
  const limit = Math.min(bytes.length, MAX_CLIENT_HELLO_BYTES);
  const parts: Uint8Array[] = [];
  let gathered = 0;
  let offset = 0;
  for (;;) {
    if (offset + 5 > limit) return incompleteOrTooLong(bytes.length);
    const type = bytes[offset] ?? 0;
    const major = bytes[offset + 1] ?? 0;
    const length = readU16(bytes, offset + 3);
    if (type !== RECORD_HANDSHAKE) return invalid(`record type ${type}, not a handshake`);
    if (major !== 3) return invalid("not a TLS record version");
    if (length === 0 || length > MAX_RECORD) return invalid(`record length ${length}`);
    if (offset + 5 + length > limit) {
      // A partial record still counts: the handshake header may already show the hello is too long.
      return incompleteOrTooLong(bytes.length);
    }
    parts.push(bytes.subarray(offset + 5, offset + 5 + length));
    gathered += length;
    offset += 5 + length;
    const first = parts[0];
    if (first === undefined) return INCOMPLETE;
    if (gathered >= 4) {
      const header = concat(parts, 4);
      if (header[0] !== HANDSHAKE_CLIENT_HELLO) return invalid(`handshake type ${header[0] ?? 0}`);
      const messageLength = ((header[1] ?? 0) << 16) | ((header[2] ?? 0) << 8) | (header[3] ?? 0);
      if (messageLength + 4 > MAX_CLIENT_HELLO_BYTES) return invalid(`hello of ${messageLength} bytes`);
      if (gathered >= messageLength + 4) return concat(parts, messageLength + 4).subarray(4);
    }
  }
}

function incompleteOrTooLong(received: number): ClientHelloResult {
  return received >= MAX_CLIENT_HELLO_BYTES
    ? invalid(`no complete hello in ${MAX_CLIENT_HELLO_BYTES} bytes`)
    : INCOMPLETE;
}

/** The first `length` bytes of `parts` joined (no copy when the first part holds them). */
function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const first = parts[0];
  if (first !== undefined && first.length >= length) return first.subarray(0, length);
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    if (at >= length) break;
    const take = part.subarray(0, length - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

/** Parses a ClientHello body (after the 4-byte handshake header). */
function parseHandshake(body: Uint8Array): ClientHelloResult {
  const reader = new Reader(body);
  reader.skip(2 + 32); // legacy_version, random
  reader.skip(reader.u8()); // session id
  reader.skip(reader.u16()); // cipher suites
  reader.skip(reader.u8()); // compression methods
  if (reader.failed()) return invalid("truncated hello");
  if (reader.remaining === 0) return { kind: "hello", hello: { serverName: undefined, alpn: [] } };
  const extensions = reader.sub(reader.u16());
  if (reader.failed()) return invalid("truncated extensions");
  let serverName: string | undefined;
  let alpn: string[] = [];
  const seen = new Set<number>();
  while (extensions.remaining > 0) {
    const type = extensions.u16();
    const data = extensions.sub(extensions.u16());
    if (extensions.failed()) return invalid("truncated extension");
    if (seen.has(type)) return invalid(`duplicate extension ${type}`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const name = parseServerName(data);
      if (typeof name !== "string" && name !== undefined) return name;
      serverName = name;
    } else if (type === EXT_ALPN) {
      const protocols = parseAlpn(data);
      if (!Array.isArray(protocols)) return protocols;
      alpn = protocols;
    }
  }
  return { kind: "hello", hello: { serverName, alpn } };
}

function parseServerName(data: Reader): string | undefined | ClientHelloResult {
  const list = data.sub(data.u16());
  let name: string | undefined;
  while (list.remaining > 0) {
    const type = list.u8();
    const value = list.bytes(list.u16());
    if (list.failed() || value === undefined) return invalid("truncated server name");
    if (type !== 0 || name !== undefined) continue; // only the first host_name counts
    let text = "";
    for (const byte of value) text += String.fromCharCode(byte);
    text = text.toLowerCase();
    if (text.endsWith(".")) text = text.slice(0, -1);
    if (text.length === 0 || text.length > 253 || !HOST_NAME.test(text)) return invalid("bad server name");
    name = text;
  }
  if (data.failed()) return invalid("truncated server name");
  return name;
}

function parseAlpn(data: Reader): string[] | ClientHelloResult {
  const list = data.sub(data.u16());
  const out: string[] = [];
  while (list.remaining > 0) {
    const value = list.bytes(list.u8());
    if (list.failed() || value === undefined || value.length === 0) return invalid("bad ALPN list");
    if (out.length < 16) out.push(Buffer.from(value).toString("latin1"));
  }
  if (data.failed()) return invalid("bad ALPN list");
  return out;
}

function readU16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

/** A bounds-checked cursor: reading past the end sets `failed` and returns zeros. */
class Reader {
  #at = 0;
  #failed = false;
  readonly view: Uint8Array;

  constructor(view: Uint8Array, failed = false) {
    this.view = view;
    this.#failed = failed;
  }

  /** True once a read went past the end. */
  failed(): boolean {
    return this.#failed;
  }

  get remaining(): number {
    return this.#failed ? 0 : this.view.length - this.#at;
  }

  u8(): number {
    if (!this.#take(1)) return 0;
    return this.view[this.#at - 1] ?? 0;
  }

  u16(): number {
    if (!this.#take(2)) return 0;
    return readU16(this.view, this.#at - 2);
  }

  skip(n: number): void {
    this.#take(n);
  }

  bytes(n: number): Uint8Array | undefined {
    if (!this.#take(n)) return undefined;
    return this.view.subarray(this.#at - n, this.#at);
  }

  sub(n: number): Reader {
    const bytes = this.bytes(n);
    return new Reader(bytes ?? new Uint8Array(0), bytes === undefined);
  }

  #take(n: number): boolean {
    if (this.#failed || this.#at + n > this.view.length) {
      this.#failed = true;
      return false;
    }
    this.#at += n;
    return true;
  }
}
