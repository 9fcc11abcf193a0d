import { describe, expect, it } from "vitest";
import { ACK, FIN, dataEvents, establish, only, seg, textOf } from "./harness.fixture.js";
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt } from "./seq.js";

describe("sequence arithmetic", () => {
  it.each([
    [1, 0, 1],
    [0, 0xffffffff, 1],
    [0xffffffff, 0, -1],
    [5, 0xfffffff0, 21],
    [0x7fffffff, 0, 0x7fffffff],
  ])("seqDiff(%i, %i) = %i", (a, b, d) => {
    expect(seqDiff(a, b)).toBe(d);
    expect(seqLt(b, a)).toBe(d > 0);
    expect(seqGt(a, b)).toBe(d > 0);
    expect(seqLe(b, a)).toBe(d >= 0);
    expect(seqGe(a, b)).toBe(d >= 0);
  });

  it("adds modulo 2^32 and checks windows across the wrap", () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(0xffffffff);
    expect(seqInWindow(3, 0xfffffffe, 10)).toBe(true);
    expect(seqInWindow(8, 0xfffffffe, 10)).toBe(false);
  });
});

describe("connections across the 2^32 wrap", () => {
  it("transfers data both ways and closes while both sequence spaces wrap", () => {
    const guestIss = 0xffffffff - 5;
    const ourIss = 0xffffffff - 1;
    const { connection, guestSeq, ourSeq } = establish({ guestIss, ourIss, synOptions: { mss: 64 } });
    expect(ourSeq).toBe(0xffffffff);
    // Guest -> host: 10 bytes starting 4 before the wrap.
    const first = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "0123" }));
    const second = connection.receive(seg({ seq: guestSeq + 4, ack: ourSeq, flags: ACK, payload: "456789" }));
    expect(textOf(dataEvents(first, second))).toBe("0123456789");
    expect(only(second).ack).toBe(seqAdd(guestSeq, 10));
    // Host -> guest: 64-byte segments straddling 2^32.
    const sent = connection.write(new Uint8Array(150)).segments;
    expect(sent.map((s) => s.seq)).toEqual([0xffffffff, 63, 127]);
    const acked = connection.receive(seg({ seq: seqAdd(guestSeq, 10), ack: 149, flags: ACK }));
    expect(acked.segments).toEqual([]);
    expect(connection.nextDeadline()).toBeUndefined();
    // FIN both ways.
    const fin = connection.receive(seg({ seq: seqAdd(guestSeq, 10), ack: 149, flags: ACK | FIN }));
    expect(only(fin).ack).toBe(seqAdd(guestSeq, 11));
    expect(only(connection.close())).toMatchObject({ seq: 149, flags: ACK | FIN });
    connection.receive(seg({ seq: seqAdd(guestSeq, 11), ack: 150, flags: ACK }));
    expect(connection.state).toBe("closed");
  });

  it("rejects data from before the wrap as old", () => {
    const { connection, guestSeq, ourSeq } = establish({ guestIss: 0xfffffff0 });
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: new Uint8Array(32) }));
    const old = connection.receive(
      seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: new Uint8Array(8) }),
    );
    expect(dataEvents(old)).toEqual([]);
    expect(only(old).ack).toBe(seqAdd(guestSeq, 32));
  });
});
