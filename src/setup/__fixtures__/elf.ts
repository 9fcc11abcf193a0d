/**
 * Test helper: builds minimal but valid ELF64 little-endian files (header, program headers, sections with a
 * section name table) so the ELF, modinfo and kernel-image readers can be tested without real binaries.
 */

/** A section to put in the fixture. */
export interface FixtureSection {
  readonly name: string;
  /** `sh_type` (1 = PROGBITS, 7 = NOTE). */
  readonly type: number;
  readonly data: Uint8Array;
}

/** A segment (program header) to put in the fixture; its bytes are stored after the headers. */
export interface FixtureSegment {
  /** `p_type` (3 = INTERP, 4 = NOTE). */
  readonly type: number;
  readonly data: Uint8Array;
}

/** What the fixture contains. */
export interface ElfFixture {
  /** `e_type`: 1 relocatable, 2 executable. */
  readonly type: number;
  /** `e_machine`: 62 x86-64, 183 aarch64. */
  readonly machine: number;
  readonly sections?: readonly FixtureSection[];
  readonly segments?: readonly FixtureSegment[];
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Builds the ELF64 LE file described by `fixture`. */
export function buildElf(fixture: ElfFixture): Buffer {
  const sections = fixture.sections ?? [];
  const segments = fixture.segments ?? [];
  const names = Buffer.concat([
    Buffer.from("\0.shstrtab\0"),
    ...sections.map((s) => Buffer.from(`${s.name}\0`)),
  ]);
  const phoff = 64;
  let cursor = phoff + segments.length * 56;
  const place = (size: number): number => {
    const at = align(cursor, 8);
    cursor = at + size;
    return at;
  };
  const segmentOffsets = segments.map((s) => place(s.data.length));
  const sectionOffsets = sections.map((s) => place(s.data.length));
  const namesOffset = place(names.length);
  const shoff = align(cursor, 8);
  const shnum = sections.length + 2; // null section, the sections, .shstrtab
  const file = Buffer.alloc(shoff + shnum * 64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(file, 0);
  file.writeUInt16LE(fixture.type, 16);
  file.writeUInt16LE(fixture.machine, 18);
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(BigInt(segments.length > 0 ? phoff : 0), 32);
  file.writeBigUInt64LE(BigInt(shoff), 40);
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54);
  file.writeUInt16LE(segments.length, 56);
  file.writeUInt16LE(64, 58);
  file.writeUInt16LE(shnum, 60);
  file.writeUInt16LE(shnum - 1, 62);
  segments.forEach((s, i) => {
    const at = phoff + i * 56;
    const offset = segmentOffsets[i] ?? 0;
    file.writeUInt32LE(s.type, at);
    file.writeBigUInt64LE(BigInt(offset), at + 8);
    file.writeBigUInt64LE(BigInt(s.data.length), at + 32);
    file.writeBigUInt64LE(BigInt(s.data.length), at + 40);
    Buffer.from(s.data).copy(file, offset);
  });
  let nameAt = "\0.shstrtab\0".length;
  sections.forEach((s, i) => {
    const at = shoff + (i + 1) * 64;
    const offset = sectionOffsets[i] ?? 0;
    file.writeUInt32LE(nameAt, at);
    file.writeUInt32LE(s.type, at + 4);
    file.writeBigUInt64LE(BigInt(offset), at + 24);
    file.writeBigUInt64LE(BigInt(s.data.length), at + 32);
    Buffer.from(s.data).copy(file, offset);
    nameAt += Buffer.byteLength(`${s.name}\0`);
  });
  const strtab = shoff + (shnum - 1) * 64;
  file.writeUInt32LE(1, strtab);
  file.writeUInt32LE(3, strtab + 4); // SHT_STRTAB
  file.writeBigUInt64LE(BigInt(namesOffset), strtab + 24);
  file.writeBigUInt64LE(BigInt(names.length), strtab + 32);
  names.copy(file, namesOffset);
  return file;
}

/** A `.modinfo` section body from `key=value` strings. */
export function modinfo(...fields: string[]): Buffer {
  return Buffer.from(fields.map((f) => `${f}\0`).join(""));
}

/** A fake kernel module (ELF relocatable, x86-64) with the given `.modinfo` fields. */
export function fakeModule(...fields: string[]): Buffer {
  return buildElf({
    type: 1,
    machine: 62,
    sections: [{ name: ".modinfo", type: 1, data: modinfo(...fields) }],
  });
}

/** One ELF note (`Elf64_Nhdr` + padded name + padded descriptor). */
export function elfNote(name: string, type: number, desc: Uint8Array): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(nameBytes.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  const pad = (b: Uint8Array): Buffer => Buffer.concat([b, Buffer.alloc(align(b.length, 4) - b.length)]);
  return Buffer.concat([head, pad(nameBytes), pad(desc)]);
}
