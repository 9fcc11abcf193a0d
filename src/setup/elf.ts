/**
 * A minimal reader for 64-bit little-endian ELF files: just enough to find sections (`.modinfo` of kernel modules),
 * program headers (`PT_INTERP` of the agent) and notes (the Xen PVH entry note of a vmlinux). Bounds are checked
 * everywhere; a malformed file raises {@link SetupError}, never a `RangeError`.
 */
import { SetupError } from "../errors.js";

/** `e_machine` of x86-64. */
export const EM_X86_64 = 62;
/** `e_machine` of AArch64. */
export const EM_AARCH64 = 183;
/** Program header type of the dynamic loader path: present only in dynamically linked executables. */
export const PT_INTERP = 3;
/** Program header type of a note segment. */
export const PT_NOTE = 4;
/** Section header type of a note section. */
export const SHT_NOTE = 7;

/** One section header, with its name resolved. */
export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** One program header (segment). */
export interface ElfProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly fileSize: number;
}

/** The parts of an ELF64 file this package reads. */
export interface ElfFile {
  /** `e_type`: 1 relocatable (.ko), 2 executable, 3 shared object / PIE. */
  readonly type: number;
  /** `e_machine`, e.g. {@link EM_X86_64}. */
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  readonly programHeaders: readonly ElfProgramHeader[];
}

/** One ELF note (`Elf64_Nhdr` + name + descriptor). */
export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** True when `data` starts with the ELF magic `7f 45 4c 46`. */
export function hasElfMagic(data: Uint8Array): boolean {
  return ELF_MAGIC.every((byte, i) => data[i] === byte);
}

function fail(label: string, reason: string): never {
  throw new SetupError(`${label} is not a valid ELF64 file: ${reason}`, {
    hint: "the download may be corrupt; rerun install() with force: true",
  });
}

function u64(view: DataView, at: number, label: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(label, `64-bit field at ${at} is out of range`);
  return Number(value);
}

function checkRange(data: Uint8Array, offset: number, size: number, label: string, what: string): void {
  if (offset < 0 || size < 0 || offset + size > data.length) fail(label, `${what} lies outside the file`);
}

function cString(data: Uint8Array, at: number): string {
  let end = at;
  while (end < data.length && data[end] !== 0) end++;
  return Buffer.from(data.buffer, data.byteOffset + at, end - at).toString("latin1");
}

function readSections(data: Uint8Array, view: DataView, label: string): ElfSection[] {
  const shoff = u64(view, 40, label);
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);
  if (shoff === 0 || shnum === 0) return [];
  if (shentsize < 64) fail(label, `section header size ${shentsize} < 64`);
  checkRange(data, shoff, shentsize * shnum, label, "section header table");
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOffset: view.getUint32(at, true),
      type: view.getUint32(at + 4, true),
      offset: u64(view, at + 24, label),
      size: u64(view, at + 32, label),
    };
  });
  const strtab = raw[shstrndx];
  if (strtab === undefined) fail(label, `section name table index ${shstrndx} out of range`);
  checkRange(data, strtab.offset, strtab.size, label, "section name table");
  return raw.map((s) => {
    if (s.nameOffset >= strtab.size) fail(label, "section name offset out of range");
    return {
      name: cString(data, strtab.offset + s.nameOffset),
      type: s.type,
      offset: s.offset,
      size: s.size,
    };
  });
}

function readProgramHeaders(data: Uint8Array, view: DataView, label: string): ElfProgramHeader[] {
  const phoff = u64(view, 32, label);
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phoff === 0 || phnum === 0) return [];
  if (phentsize < 56) fail(label, `program header size ${phentsize} < 56`);
  checkRange(data, phoff, phentsize * phnum, label, "program header table");
  return Array.from({ length: phnum }, (_, i) => {
    const at = phoff + i * phentsize;
    return {
      type: view.getUint32(at, true),
      offset: u64(view, at + 8, label),
      fileSize: u64(view, at + 32, label),
    };
  });
}

/**
 * Parses the ELF64 little-endian header, section headers and program headers of `data`.
 *
 * @param label - names the file in error messages.
 * @throws SetupError when `data` is not a well-formed ELF64 LE file.
 */
export function parseElf(data: Uint8Array, label: string): ElfFile {
  if (data.length < 64 || !hasElfMagic(data)) fail(label, "no ELF magic");
  if (data[4] !== 2) fail(label, "not a 64-bit ELF");
  if (data[5] !== 1) fail(label, "not little-endian");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    type: view.getUint16(16, true),
    machine: view.getUint16(18, true),
    sections: readSections(data, view, label),
    programHeaders: readProgramHeaders(data, view, label),
  };
}

/** The bytes of the first section called `name`, or `undefined` when there is none. */
export function sectionData(data: Uint8Array, elf: ElfFile, name: string): Uint8Array | undefined {
  const section = elf.sections.find((s) => s.name === name);
  if (section === undefined) return undefined;
  checkRange(data, section.offset, section.size, name, `section ${name}`);
  return data.subarray(section.offset, section.offset + section.size);
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Decodes a sequence of ELF notes (the contents of a `PT_NOTE` segment or `SHT_NOTE` section). */
export function parseNotes(area: Uint8Array): ElfNote[] {
  const view = new DataView(area.buffer, area.byteOffset, area.byteLength);
  const notes: ElfNote[] = [];
  let at = 0;
  while (at + 12 <= area.length) {
    const nameSize = view.getUint32(at, true);
    const descSize = view.getUint32(at + 4, true);
    const type = view.getUint32(at + 8, true);
    const nameAt = at + 12;
    const descAt = nameAt + align4(nameSize);
    if (descAt + descSize > area.length) break;
    const name = cString(area.subarray(nameAt, nameAt + nameSize), 0);
    notes.push({ name, type, desc: area.subarray(descAt, descAt + descSize) });
    at = descAt + align4(descSize);
  }
  return notes;
}

/** Every note of the file, from its `PT_NOTE` segments (or its `SHT_NOTE` sections when it has no segments). */
export function elfNotes(data: Uint8Array, elf: ElfFile): ElfNote[] {
  const areas =
    elf.programHeaders.length > 0
      ? elf.programHeaders
          .filter((p) => p.type === PT_NOTE)
          .map((p) => ({ offset: p.offset, size: p.fileSize }))
      : elf.sections.filter((s) => s.type === SHT_NOTE);
  return areas.flatMap((area) => {
    checkRange(data, area.offset, area.size, "ELF", "note area");
    return parseNotes(data.subarray(area.offset, area.offset + area.size));
  });
}
