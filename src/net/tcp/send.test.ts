import { describe, expect, it } from "vitest";
import { ACK, PSH, RST, bytes, establish, eventTypes, only, seg, textOf } from "./harness.fixture.js";

describe("host to guest data", () => {
  it("sends within the guest's window and MSS, PSH on the last segment", () => {
    const { connection, guestSeq, ourSeq } = establish({ synOptions: { mss: 1000 }, window: 2500 });
    const out = connection.write(new Uint8Array(4000));
    expect(out.accepted).toBe(4000);
    expect(out.segments.map((s) => [s.seq - ourSeq, s.payload.length, s.flags])).toEqual([
      [0, 1000, ACK],
      [1000, 1000, ACK],
      [2000, 500, ACK],
    ]);
    const more = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 2500, flags: ACK, window: 2500 }));
    expect(more.segments.map((s) => [s.seq - ourSeq, s.payload.length, s.flags])).toEqual([
      [2500, 1000, ACK],
      [3500, 500, ACK | PSH],
    ]);
  });

  it("keeps the byte stream intact across segments and retransmissions", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ synOptions: { mss: 64 } });
    const message = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    const sent = connection.write(bytes(message)).segments;
    expect(textOf(sent.map((s) => s.payload))).toBe(message);
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 100, flags: ACK }));
    clock.advance(1000);
    const resent = connection.tick().segments;
    expect(resent[0]?.seq).toBe(ourSeq + 100);
    expect(textOf(resent.map((s) => s.payload))).toBe(message.slice(100));
  });

  it("bounds the send buffer and signals writable when the guest acknowledges", () => {
    const { connection, guestSeq, ourSeq } = establish({ options: { sendBufferSize: 3000 }, window: 1000 });
    expect(connection.write(new Uint8Array(2000)).accepted).toBe(2000);
    const short = connection.write(new Uint8Array(2000));
    expect(short.accepted).toBe(1000);
    expect(connection.sendBufferFree).toBe(0);
    expect(connection.write(new Uint8Array(10)).accepted).toBe(0);
    const acked = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1000, flags: ACK, window: 1000 }));
    expect(eventTypes(acked)).toEqual([]);
    const moreAcked = connection.receive(
      seg({ seq: guestSeq, ack: ourSeq + 2000, flags: ACK, window: 1000 }),
    );
    expect(eventTypes(moreAcked)).toEqual(["writable"]);
    expect(connection.sendBufferFree).toBe(2000);
  });

  it("ignores an ACK for data never sent (and re-ACKs)", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.write(bytes("abc"));
    const out = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1000, flags: ACK }));
    expect(only(out)).toMatchObject({ seq: ourSeq + 3, flags: ACK });
    expect(connection.sendBufferFree).toBe(128 * 1024 - 3);
  });

  it("ignores window updates from old segments (SND.WL1/WL2)", () => {
    const { connection, guestSeq, ourSeq } = establish({ window: 1000, synOptions: { mss: 1460 } });
    connection.receive(seg({ seq: guestSeq + 10, ack: ourSeq, flags: ACK, window: 1000, payload: "" }));
    // An older segment (lower seq) advertising a bigger window must not open it.
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, window: 60000 }));
    expect(connection.write(new Uint8Array(5000)).segments.reduce((n, s) => n + s.payload.length, 0)).toBe(
      1000,
    );
  });
});

describe("zero window from the guest", () => {
  it("stops sending, probes with backoff, and resumes when the window opens", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ window: 0, options: { minRtoMs: 1000 } });
    const out = connection.write(bytes("payload"));
    expect(out.segments).toEqual([]);
    expect(connection.nextDeadline()).toBe(1000);
    clock.time = 1000;
    expect(only(connection.tick())).toMatchObject({ seq: ourSeq - 1, flags: ACK, payload: new Uint8Array() });
    expect(connection.nextDeadline()).toBe(3000);
    // The guest answers the probe still at zero: the probe count resets, the backoff keeps growing.
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, window: 0 }));
    clock.time = 3000;
    connection.tick();
    expect(connection.nextDeadline()).toBe(7000);
    const opened = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK, window: 100 }));
    expect(textOf(opened.segments.map((s) => s.payload))).toBe("payload");
    expect(connection.nextDeadline()).toBe(3000 + 1000);
  });

  it("resets after too many unanswered probes", () => {
    const { connection, clock } = establish({ window: 0, options: { maxRetransmits: 3 } });
    connection.write(bytes("x"));
    const events: string[] = [];
    for (let i = 0; i < 4; i++) {
      clock.time = connection.nextDeadline() ?? clock.time;
      const out = connection.tick();
      events.push(...eventTypes(out));
      if (i === 3) expect(only(out).flags).toBe(RST | ACK);
    }
    expect(events).toEqual(["closed"]);
    expect(connection.state).toBe("closed");
  });
});
