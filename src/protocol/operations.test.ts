import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FrameKind, MAX_CONTROL_MESSAGE, MAX_PAYLOAD } from "./constants.js";
import { ControlAssembler, FrameDecoder, FrameError, encodeControl, encodeFrame } from "./frame.js";
import type { Frame } from "./frame.js";
import { parseHostMessage } from "./host-messages.js";
import { MessageError, parseAgentMessage } from "./messages.js";
import {
  MESSAGES,
  OPERATIONS,
  SUPERVISOR_FEATURES,
  followUpOf,
  isReplyOf,
  isTerminal,
} from "./operations.js";

const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const table = JSON.parse(
  readFileSync(new URL("../../protocol/operations.json", import.meta.url), "utf8"),
) as {
  maxControlMessage: number;
  operations: { open: string; terminal: string[]; replies: string[]; followUps: { type: string }[] }[];
};

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof MessageError) return err.field;
    throw err;
  }
  return undefined;
}

describe("the operation table", () => {
  it("is the JSON file, and every message it names is defined", () => {
    expect(MAX_CONTROL_MESSAGE).toBe(table.maxControlMessage);
    for (const op of table.operations) {
      expect(MESSAGES.get(op.open)?.from).toBe("host");
      for (const t of [...op.terminal, ...op.replies]) expect(MESSAGES.get(t)?.from).toBe("agent");
      for (const f of op.followUps) expect(MESSAGES.get(f.type)?.from).toBe("host");
    }
  });

  it("answers what ends and what belongs to a stream", () => {
    const exec = OPERATIONS.get("exec.start");
    expect(exec).toBeDefined();
    if (!exec) return;
    expect(isTerminal(exec, "exec.exited")).toBe(true);
    expect(isTerminal(exec, "error")).toBe(true);
    expect(isTerminal(exec, "exec.started")).toBe(false);
    expect(isReplyOf(exec, "exec.started")).toBe(true);
    expect(isReplyOf(exec, "init.done")).toBe(false);
    expect(followUpOf(exec, "stream.cancel")?.feature).toBe("stream.cancel");
    expect(followUpOf(exec, "ping")).toBeUndefined();
    expect(SUPERVISOR_FEATURES).toEqual(["sup.stats", "sup.metrics", "sup.drain", "sup.detach"]);
  });
});

describe("strict parsing", () => {
  it("rejects unknown fields, naming them, in both directions", () => {
    expect(fieldOf(() => parseHostMessage(json({ type: "exec.signal", signal: 9, force: true })))).toBe(
      "force",
    );
    expect(fieldOf(() => parseAgentMessage(json({ type: "exec.started", pid: 3, extra: 1 })))).toBe("extra");
    expect(
      fieldOf(() =>
        parseHostMessage(json({ type: "exec.start", argv: ["x"], tty: { rows: 1, cols: 2, x: 1 } })),
      ),
    ).toBe("tty.x");
  });

  it("names the field of a bad value", () => {
    expect(fieldOf(() => parseHostMessage(json({ type: "exec.start", argv: "ls" })))).toBe("argv");
    expect(fieldOf(() => parseHostMessage(json({ type: "exec.start", argv: ["x"], env: { K: 1 } })))).toBe(
      "env.K",
    );
    expect(fieldOf(() => parseHostMessage(json({ type: "exec.resize", rows: 0, cols: 80 })))).toBe("rows");
    expect(fieldOf(() => parseHostMessage(json({ type: "exec.signal", signal: 65 })))).toBe("signal");
  });

  it("refuses host-internal and unknown messages from clients", () => {
    expect(fieldOf(() => parseHostMessage(json({ type: "init", hostname: "x" })))).toBe("type");
    expect(fieldOf(() => parseHostMessage(json({ type: "fs.teleport" })))).toBe("type");
    expect(fieldOf(() => parseHostMessage(json({ type: "fs.read", path: "relative" })))).toBe("path");
    expect(fieldOf(() => parseAgentMessage(json({ type: "exec.start", argv: [] })))).toBe("type");
  });

  it("parses the new operations", () => {
    expect(
      parseHostMessage(json({ type: "exec.start", argv: ["sh"], tty: { rows: 24, cols: 80 } })),
    ).toMatchObject({
      stdin: "null",
      timeoutMs: 0,
      tty: { rows: 24, cols: 80 },
    });
    expect(
      parseAgentMessage(json({ type: "error", code: "ENOENT", message: "m", field: "argv[0]" })),
    ).toEqual({
      type: "error",
      code: "ENOENT",
      message: "m",
      field: "argv[0]",
    });
    expect(parseAgentMessage(json({ type: "stats.result", streams: 2 }))).toEqual({
      type: "stats.result",
      streams: 2,
    });
  });
});

describe("large control messages", () => {
  const decode = (bytes: Buffer): Frame[] => {
    const assembler = new ControlAssembler();
    return new FrameDecoder().push(bytes).flatMap((f) => assembler.accept(f) ?? []);
  };

  it("travel as CONTINUE parts and a final CONTROL, reassembled byte for byte", () => {
    const payload = Buffer.alloc(MAX_PAYLOAD * 2 + 17, 0x61);
    const wire = encodeControl(5, payload);
    const kinds = new FrameDecoder().push(wire).map((f) => f.kind);
    expect(kinds).toEqual([FrameKind.CONTINUE, FrameKind.CONTINUE, FrameKind.CONTROL]);
    const frames = decode(wire);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.payload.equals(payload)).toBe(true);
  });

  it("keep small messages in one frame", () => {
    expect(new FrameDecoder().push(encodeControl(1, json({ type: "stats" })))).toHaveLength(1);
  });

  it("are bounded, and a part must be followed by the rest of its message", () => {
    expect(() => encodeControl(1, Buffer.alloc(MAX_CONTROL_MESSAGE + 1))).toThrow(RangeError);
    const assembler = new ControlAssembler();
    const part = encodeFrame(1, FrameKind.CONTINUE, Buffer.alloc(MAX_PAYLOAD));
    const frames = new FrameDecoder().push(Buffer.concat(Array.from({ length: 9 }, () => part)));
    expect(() => {
      for (const f of frames) assembler.accept(f);
    }).toThrow(FrameError);
    const other = new ControlAssembler();
    other.accept({ stream: 2, kind: FrameKind.CONTINUE, payload: Buffer.from("{") });
    expect(() => other.accept({ stream: 2, kind: FrameKind.STDIN, payload: Buffer.from("x") })).toThrow(
      FrameError,
    );
    // Other streams are not affected by a message in progress.
    expect(other.accept({ stream: 3, kind: FrameKind.STDIN, payload: Buffer.from("x") })?.stream).toBe(3);
  });
});
