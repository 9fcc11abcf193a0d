import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { buildElf, elfNote } from "./__fixtures__/elf.js";
import { archProfile } from "./arch.js";
import { PT_NOTE } from "./elf.js";
import { findExecutable, run } from "./exec.js";
import {
  XEN_ELFNOTE_PHYS32_ENTRY,
  arm64Image,
  bzImagePayload,
  detectCompression,
  extractPvhVmlinux,
  hasPvhEntryNote,
  prepareKernel,
} from "./kernel-image.js";

function vmlinux(pvh: boolean): Buffer {
  const notes = [
    elfNote("GNU", 3, Buffer.alloc(20)),
    ...(pvh ? [elfNote("Xen", XEN_ELFNOTE_PHYS32_ENTRY, Buffer.alloc(4))] : []),
  ];
  return buildElf({ type: 2, machine: 62, segments: [{ type: PT_NOTE, data: Buffer.concat(notes) }] });
}

/** A bzImage-shaped file: 1 setup sector + boot sector, header fields set, `payload` after 100 bytes of padding. */
function bzImage(payload: Uint8Array): Buffer {
  const payloadOffset = 100;
  const start = 2 * 512 + payloadOffset;
  const file = Buffer.alloc(start + payload.length);
  file[0x1f1] = 1;
  file.write("HdrS", 0x202, "latin1");
  file.writeUInt16LE(0x20f, 0x206);
  file.writeUInt32LE(payloadOffset, 0x248);
  file.writeUInt32LE(payload.length, 0x24c);
  Buffer.from(payload).copy(file, start);
  return file;
}

const withSize = (data: Buffer, size: number): Buffer => {
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(size, 0);
  return Buffer.concat([data, trailer]);
};

describe("detectCompression", () => {
  it("recognises the kernel compression magics", () => {
    expect(detectCompression(Buffer.from([0x02, 0x21, 0x4c, 0x18, 0]))).toBe("lz4");
    expect(detectCompression(gzipSync(Buffer.from("x")))).toBe("gzip");
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe("xz");
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe("zstd");
    expect(detectCompression(Buffer.from("ELF"))).toBeUndefined();
  });
});

describe("bzImagePayload", () => {
  it("locates the payload from the boot header", () => {
    const payload = Buffer.from("payload bytes");
    expect(Buffer.from(bzImagePayload(bzImage(payload))).equals(payload)).toBe(true);
  });

  it("rejects files without a HdrS header", () => {
    expect(() => bzImagePayload(Buffer.alloc(4096))).toThrow(/not an x86 bzImage/);
  });
});

describe("extractPvhVmlinux", () => {
  it("unpacks a gzip payload and checks the PVH note", async () => {
    const elf = vmlinux(true);
    expect(hasPvhEntryNote(elf)).toBe(true);
    const out = await extractPvhVmlinux(bzImage(gzipSync(elf)));
    expect(out.equals(elf)).toBe(true);
  });

  it("refuses a vmlinux without the PVH note", async () => {
    await expect(extractPvhVmlinux(bzImage(gzipSync(vmlinux(false))))).rejects.toThrow(
      /no Xen PVH entry note/,
    );
  });

  it.skipIf(findExecutable("lz4") === undefined && process.env["CI"] === undefined)(
    "unpacks an LZ4 legacy payload with its size trailer (lz4 CLI)",
    async () => {
      const elf = vmlinux(true);
      const { stdout } = await run(findExecutable("lz4") ?? "lz4", ["-l", "-c"], { input: elf });
      const out = await extractPvhVmlinux(bzImage(withSize(stdout, elf.length)));
      expect(out.equals(elf)).toBe(true);
      await expect(extractPvhVmlinux(bzImage(withSize(stdout, elf.length + 1)))).rejects.toThrow(SetupError);
    },
  );
});

describe("prepareKernel", () => {
  it("falls back to the bzImage when the vmlinux cannot be used, saying why", async () => {
    const image = bzImage(gzipSync(vmlinux(false)));
    const lines: string[] = [];
    const kernel = await prepareKernel(image, archProfile("x64"), (l) => lines.push(l));
    expect(kernel.format).toBe("bzimage");
    expect(Buffer.from(kernel.data).equals(image)).toBe(true);
    expect(lines.join("\n")).toMatch(/PVH/);
  });

  it("yields the PVH vmlinux when it can", async () => {
    const kernel = await prepareKernel(bzImage(gzipSync(vmlinux(true))), archProfile("x64"), () => undefined);
    expect(kernel.format).toBe("pvh-vmlinux");
  });

  it("gunzips an arm64 Image and checks its magic", async () => {
    const image = Buffer.alloc(128);
    image.writeUInt32LE(0x644d5241, 56);
    expect((await arm64Image(gzipSync(image))).equals(image)).toBe(true);
    expect((await prepareKernel(gzipSync(image), archProfile("arm64"), () => undefined)).format).toBe(
      "image",
    );
    await expect(arm64Image(Buffer.alloc(128))).rejects.toThrow(/ARM/);
  });
});
