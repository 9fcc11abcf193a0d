import { describe, expect, it } from "vitest";
import { ACK, FIN, bytes, dataEvents, establish, eventTypes, only, seg, textOf } from "./harness.fixture.js";

describe("guest to host data", () => {
  it("delivers in-order data and acknowledges it", () => {
    const { connection, guestSeq, ourSeq } = establish();
    const first = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "hello " }));
    const second = connection.receive(seg({ seq: guestSeq + 6, ack: ourSeq, flags: ACK, payload: "world" }));
    expect(textOf(dataEvents(first, second))).toBe("hello world");
    expect(only(second)).toMatchObject({ seq: ourSeq, ack: guestSeq + 11, flags: ACK });
  });

  it("answers a retransmission of received data with a duplicate ACK and no data", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "abc" }));
    const again = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "abc" }));
    expect(dataEvents(again)).toEqual([]);
    expect(only(again).ack).toBe(guestSeq + 3);
  });

  it("delivers only the new part of an overlapping segment", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "abc" }));
    const out = connection.receive(seg({ seq: guestSeq + 1, ack: ourSeq, flags: ACK, payload: "bcdef" }));
    expect(textOf(dataEvents(out))).toBe("def");
    expect(only(out).ack).toBe(guestSeq + 6);
  });

  it("drops out-of-order data with a duplicate ACK until the gap is filled", () => {
    const { connection, guestSeq, ourSeq } = establish();
    const early = connection.receive(seg({ seq: guestSeq + 3, ack: ourSeq, flags: ACK, payload: "def" }));
    expect(dataEvents(early)).toEqual([]);
    expect(only(early).ack).toBe(guestSeq);
    const gap = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: "abc" }));
    expect(textOf(dataEvents(gap))).toBe("abc");
    const resent = connection.receive(seg({ seq: guestSeq + 3, ack: ourSeq, flags: ACK, payload: "def" }));
    expect(textOf(dataEvents(resent))).toBe("def");
  });

  it("ignores segments without ACK and data outside the window", () => {
    const { connection, guestSeq, ourSeq } = establish();
    expect(connection.receive(seg({ seq: guestSeq, flags: 0, payload: "x" })).segments).toEqual([]);
    const far = connection.receive(
      seg({ seq: guestSeq + 10_000_000, ack: ourSeq, flags: ACK, payload: "x" }),
    );
    expect(dataEvents(far)).toEqual([]);
    expect(only(far).ack).toBe(guestSeq);
  });

  it("copies delivered data (the frame buffer can be reused)", () => {
    const { connection, guestSeq, ourSeq } = establish();
    const payload = bytes("abc");
    const out = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload }));
    payload.fill(0);
    expect(textOf(dataEvents(out))).toBe("abc");
  });
});

describe("receive window and backpressure", () => {
  const options = { receiveBufferSize: 4000, mss: 1000 };

  it("shrinks the window as data waits for the host, to zero, and reopens on consumed()", () => {
    const { connection, guestSeq, ourSeq } = establish({ options, synOptions: { mss: 1000 } });
    expect(connection.receiveWindow).toBe(4000);
    let seq = guestSeq;
    const windows: number[] = [];
    for (let i = 0; i < 4; i++) {
      const out = connection.receive(seg({ seq, ack: ourSeq, flags: ACK, payload: new Uint8Array(1000) }));
      seq += 1000;
      windows.push(only(out).window);
    }
    expect(windows).toEqual([3000, 2000, 1000, 0]);
    // A full window: new data is not taken, the ACK repeats the zero window.
    const refused = connection.receive(seg({ seq, ack: ourSeq, flags: ACK, payload: new Uint8Array(500) }));
    expect(dataEvents(refused)).toEqual([]);
    expect(only(refused)).toMatchObject({ ack: seq, window: 0 });
    // The guest's zero-window probe (one old byte) is answered with the current window.
    expect(only(connection.receive(seg({ seq: seq - 1, ack: ourSeq, flags: ACK })))).toMatchObject({
      ack: seq,
      window: 0,
    });
    // A small drain is not announced (silly window avoidance); a large one is.
    expect(connection.consumed(100).segments).toEqual([]);
    expect(only(connection.consumed(1900))).toMatchObject({ ack: seq, window: 2000 });
    const more = connection.receive(seg({ seq, ack: ourSeq, flags: ACK, payload: new Uint8Array(2500) }));
    expect(dataEvents(more)[0]?.length).toBe(2000);
  });

  it("advertises the scaled window and trims data beyond it", () => {
    const { connection, guestSeq, ourSeq } = establish({ options: { receiveBufferSize: 256 * 1024 } });
    const out = connection.receive(
      seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: new Uint8Array(1024) }),
    );
    // 256 KiB needs shift 3: (262144 - 1024) >> 3.
    expect(only(out).window).toBe((256 * 1024 - 1024) >> 3);
    expect(connection.receiveWindow).toBe(256 * 1024 - 1024);
  });

  it("accepts a FIN at the edge of a zero window", () => {
    const { connection, guestSeq, ourSeq } = establish({ options });
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, payload: new Uint8Array(4000) }));
    const out = connection.receive(seg({ seq: guestSeq + 4000, ack: ourSeq, flags: ACK | FIN }));
    expect(eventTypes(out)).toEqual(["end"]);
    expect(connection.state).toBe("close-wait");
  });

  it("does not accept a FIN whose data did not fit", () => {
    const { connection, guestSeq, ourSeq } = establish({ options });
    const out = connection.receive(
      seg({ seq: guestSeq, ack: ourSeq, flags: ACK | FIN, payload: new Uint8Array(4500) }),
    );
    expect(eventTypes(out)).toEqual(["data"]);
    expect(connection.state).toBe("established");
    expect(only(out).ack).toBe(guestSeq + 4000);
  });
});
