import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { buildElf, elfNote } from "./__fixtures__/elf.js";
import {
  EM_X86_64,
  PT_INTERP,
  PT_NOTE,
  elfNotes,
  hasElfMagic,
  parseElf,
  parseNotes,
  sectionData,
} from "./elf.js";

describe("parseElf", () => {
  it("reads type, machine, named sections and program headers", () => {
    const file = buildElf({
      type: 2,
      machine: EM_X86_64,
      sections: [
        { name: ".text", type: 1, data: Buffer.from("code") },
        { name: ".modinfo", type: 1, data: Buffer.from("a=b\0") },
      ],
      segments: [{ type: PT_INTERP, data: Buffer.from("/lib/ld.so\0") }],
    });
    const elf = parseElf(file, "fixture");
    expect(elf.type).toBe(2);
    expect(elf.machine).toBe(EM_X86_64);
    expect(elf.sections.map((s) => s.name)).toEqual(["", ".text", ".modinfo", ".shstrtab"]);
    expect(elf.programHeaders.map((p) => p.type)).toEqual([PT_INTERP]);
    expect(Buffer.from(sectionData(file, elf, ".text") ?? []).toString()).toBe("code");
    expect(sectionData(file, elf, ".missing")).toBeUndefined();
  });

  it("rejects non-ELF, 32-bit and truncated files with SetupError", () => {
    expect(() => parseElf(Buffer.alloc(100), "zeros")).toThrow(SetupError);
    const file = buildElf({
      type: 1,
      machine: 62,
      sections: [{ name: ".x", type: 1, data: Buffer.alloc(8) }],
    });
    const elf32 = Buffer.from(file);
    elf32[4] = 1;
    expect(() => parseElf(elf32, "elf32")).toThrow(/not a 64-bit ELF/);
    expect(() => parseElf(file.subarray(0, file.length - 10), "cut")).toThrow(/outside the file/);
  });

  it("recognises the ELF magic", () => {
    expect(hasElfMagic(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2]))).toBe(true);
    expect(hasElfMagic(Buffer.from("MZ"))).toBe(false);
  });
});

describe("notes", () => {
  it("decodes padded notes from a PT_NOTE segment", () => {
    const desc = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const area = Buffer.concat([elfNote("GNU", 3, Buffer.from([9, 9, 9])), elfNote("Xen", 18, desc)]);
    const file = buildElf({ type: 2, machine: 62, segments: [{ type: PT_NOTE, data: area }] });
    const notes = elfNotes(file, parseElf(file, "fixture"));
    expect(notes.map((n) => [n.name, n.type])).toEqual([
      ["GNU", 3],
      ["Xen", 18],
    ]);
    expect(Buffer.from(notes[1]?.desc ?? []).equals(desc)).toBe(true);
  });

  it("stops at a truncated note instead of reading past the area", () => {
    const note = elfNote("Xen", 18, Buffer.alloc(8));
    expect(parseNotes(note.subarray(0, note.length - 4))).toEqual([]);
  });
});
