/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical: codes of one length are consecutive and
 * ordered by symbol, each length's first code follows the previous length's last. So the code lengths, listed
 * here as the symbols of each length, define it entirely; the unit test checks the lengths fill the code space
 * exactly (Kraft) and decodes real encoder output.
 *
 * @packageDocumentation
 */

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const chars = (text: string): number[] => Array.from(Buffer.from(text, "latin1"));

/** Symbols (bytes; 256 is EOS) by code length. */
const SYMBOLS_BY_LENGTH: readonly (readonly [number, readonly number[]])[] = [
  [5, chars("012aceiost")],
  [6, chars(" %-./3456789=A_bdfghlmnpru")],
  [7, chars(":BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz")],
  [8, chars("&*,;XZ")],
  [10, chars('!"()?')],
  [11, chars("'+|")],
  [12, chars("#>")],
  [13, [0, ...chars("$@[]~")]],
  [14, chars("^}")],
  [15, chars("<`{")],
  [19, [0x5c, 0xc3, 0xd0]],
  [20, [0x80, 0x82, 0x83, 0xa2, 0xb8, 0xc2, 0xe0, 0xe2]],
  [21, [0x99, 0xa1, 0xa7, 0xac, 0xb0, 0xb1, 0xb3, 0xd1, 0xd8, 0xd9, 0xe3, 0xe5, 0xe6]],
  [
    22,
    [
      0x81, 0x84, 0x85, 0x86, 0x88, 0x92, 0x9a, 0x9c, 0xa0, 0xa3, 0xa4, 0xa9, 0xaa, 0xad, 0xb2, 0xb5, 0xb9,
      0xba, 0xbb, 0xbd, 0xbe, 0xc4, 0xc6, 0xe4, 0xe8, 0xe9,
    ],
  ],
  [
    23,
    [
      0x01, 0x87, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8f, 0x93, 0x95, 0x96, 0x97, 0x98, 0x9b, 0x9d, 0x9e, 0xa5,
      0xa6, 0xa8, 0xae, 0xaf, 0xb4, 0xb6, 0xb7, 0xbc, 0xbf, 0xc5, 0xe7, 0xef,
    ],
  ],
  [24, [0x09, 0x8e, 0x90, 0x91, 0x94, 0x9f, 0xab, 0xce, 0xd7, 0xe1, 0xec, 0xed]],
  [25, [0xc7, 0xcf, 0xea, 0xeb]],
  [26, [0xc0, 0xc1, 0xc8, 0xc9, 0xca, 0xcd, 0xd2, 0xd5, 0xda, 0xdb, 0xee, 0xf0, 0xf2, 0xf3, 0xff]],
  [
    27,
    [
      0xcb, 0xcc, 0xd3, 0xd4, 0xd6, 0xdd, 0xde, 0xdf, 0xf1, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xfa, 0xfb, 0xfc,
      0xfd, 0xfe,
    ],
  ],
  [28, [...range(2, 8), 11, 12, ...range(14, 21), ...range(23, 31), 0x7f, 0xdc, 0xf9]],
  [30, [10, 13, 22, 256]],
];

/** A symbol's code: `length` bits of `code` (at most 30, so it fits a JS number's integer bits). */
export interface HuffmanCode {
  readonly code: number;
  readonly length: number;
}

/** The code of every symbol 0..256, built canonically from {@link SYMBOLS_BY_LENGTH}. */
export function huffmanCodes(): HuffmanCode[] {
  const codes: HuffmanCode[] = new Array<HuffmanCode>(257);
  let code = 0;
  let previous = SYMBOLS_BY_LENGTH[0]?.[0] ?? 0;
  for (const [length, symbols] of SYMBOLS_BY_LENGTH) {
    code *= 2 ** (length - previous);
    previous = length;
    for (const symbol of [...symbols].sort((a, b) => a - b)) {
      codes[symbol] = { code, length };
      code++;
    }
  }
  return codes;
}

/** Decoding tree node: children by bit, or a symbol at a leaf. */
interface Node {
  zero?: Node;
  one?: Node;
  symbol?: number;
}

/** Decodes HPACK Huffman strings (built once per decoder; ~512 small nodes). */
export class HuffmanDecoder {
  readonly #root: Node = {};

  constructor() {
    for (const [symbol, { code, length }] of huffmanCodes().entries()) {
      let node = this.#root;
      for (let bit = length - 1; bit >= 0; bit--) {
        const one = Math.floor(code / 2 ** bit) % 2 === 1;
        const next: Node = (one ? node.one : node.zero) ?? {};
        if (one) node.one = next;
        else node.zero = next;
        node = next;
      }
      node.symbol = symbol;
    }
  }

  /**
   * The bytes `data` encodes, or undefined when it is not a valid encoding (EOS inside, padding longer than 7
   * bits or not all ones).
   */
  decode(data: Uint8Array): Buffer | undefined {
    const out: number[] = [];
    let node = this.#root;
    let pendingBits = 0;
    let pendingOnes = true;
    for (const byte of data) {
      for (let bit = 7; bit >= 0; bit--) {
        const one = ((byte >> bit) & 1) === 1;
        const next = one ? node.one : node.zero;
        if (next === undefined) return undefined;
        pendingBits++;
        pendingOnes &&= one;
        if (next.symbol !== undefined) {
          if (next.symbol === 256) return undefined;
          out.push(next.symbol);
          node = this.#root;
          pendingBits = 0;
          pendingOnes = true;
        } else node = next;
      }
    }
    if (pendingBits > 7 || !pendingOnes) return undefined;
    return Buffer.from(out);
  }
}

/** Huffman-encodes `data` (for tests and for callers that want the shorter form). */
export function huffmanEncode(data: Uint8Array): Buffer {
  const codes = huffmanCodes();
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    const entry = codes[byte];
    if (entry === undefined) continue;
    for (let bit = entry.length - 1; bit >= 0; bit--) {
      acc = (acc << 1) | (Math.floor(entry.code / 2 ** bit) % 2);
      bits++;
      if (bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}
