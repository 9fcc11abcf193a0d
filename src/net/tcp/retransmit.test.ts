import { describe, expect, it } from "vitest";
import { ACK, RST, bytes, establish, eventTypes, only, seg, textOf } from "./harness.fixture.js";

describe("retransmission", () => {
  it("retransmits unacknowledged data with exponential backoff, then resets", () => {
    const { connection, ourSeq, clock } = establish({ options: { minRtoMs: 1000, maxRetransmits: 4 } });
    connection.write(bytes("hello"));
    const times: number[] = [];
    for (;;) {
      const deadline = connection.nextDeadline();
      if (deadline === undefined) break;
      clock.time = deadline;
      const out = connection.tick();
      times.push(deadline);
      if (connection.state === "closed") {
        expect(only(out)).toMatchObject({ flags: RST | ACK, seq: ourSeq + 5 });
        expect(out.events).toEqual([{ type: "closed", reason: "timeout" }]);
      } else {
        expect(only(out)).toMatchObject({ seq: ourSeq, payload: bytes("hello") });
      }
    }
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000]);
  });

  it("caps the backoff at maxRtoMs", () => {
    const { connection, clock } = establish({
      options: { minRtoMs: 1000, maxRtoMs: 3000, maxRetransmits: 6 },
    });
    connection.write(bytes("x"));
    const gaps: number[] = [];
    let last = 0;
    for (let i = 0; i < 5; i++) {
      const deadline = connection.nextDeadline() ?? 0;
      gaps.push(deadline - last);
      last = deadline;
      clock.time = deadline;
      connection.tick();
    }
    expect(gaps).toEqual([1000, 2000, 3000, 3000, 3000]);
  });

  it("measures the RTT and restarts the timer on each new ACK", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({
      options: { minRtoMs: 10, initialRtoMs: 1000 },
    });
    // Handshake RTT was 0 ms: RTO = max(min 10, 0 + max(1 ms, 0)).
    connection.write(bytes("abcdef"));
    expect(connection.nextDeadline()).toBe(10);
    clock.advance(40);
    // 40 ms later the guest acknowledges; the next send is timed with the new estimate.
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 6, flags: ACK }));
    expect(connection.nextDeadline()).toBeUndefined();
    connection.write(bytes("g"));
    // srtt = 0.875*0 + 0.125*40 = 5, rttvar = 0.75*0 + 0.25*40 = 10 -> RTO = 5 + 40 = 45.
    expect(connection.nextDeadline()).toBe(40 + 45);
  });

  it("does not take RTT samples from retransmitted data (Karn)", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ options: { minRtoMs: 100 } });
    connection.write(bytes("abc"));
    clock.time = 100;
    connection.tick();
    clock.time = 5000;
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 3, flags: ACK }));
    connection.write(bytes("d"));
    // The backed-off RTO (200) stays; a 4900 ms sample would have inflated it.
    expect(connection.nextDeadline()).toBe(5000 + 200);
  });

  it("fast-retransmits on the third duplicate ACK", () => {
    const { connection, guestSeq, ourSeq } = establish({ synOptions: { mss: 100 } });
    connection.write(new Uint8Array(500));
    const dup = seg({ seq: guestSeq, ack: ourSeq + 100, flags: ACK, window: 65535 });
    connection.receive(dup);
    expect(connection.receive(dup).segments).toEqual([]);
    expect(connection.receive(dup).segments).toEqual([]);
    expect(only(connection.receive(dup))).toMatchObject({ seq: ourSeq + 100 });
    expect(connection.receive(dup).segments).toEqual([]);
  });

  it("retransmits a lost FIN", () => {
    const { connection, ourSeq, clock } = establish({ options: { minRtoMs: 500 } });
    connection.close();
    clock.time = 500;
    expect(only(connection.tick())).toMatchObject({ seq: ourSeq, flags: 0x11 });
  });

  it("go-back-N resends everything unacknowledged after a timeout", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({
      synOptions: { mss: 100 },
      options: { minRtoMs: 300 },
    });
    connection.write(bytes("a".repeat(100) + "b".repeat(100) + "c".repeat(100)));
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 100, flags: ACK }));
    clock.time = 300;
    const resent = connection.tick();
    expect(resent.segments.map((s) => s.seq - ourSeq)).toEqual([100, 200]);
    expect(textOf(resent.segments.map((s) => s.payload))).toBe("b".repeat(100) + "c".repeat(100));
    // The guest had the data after all: an ACK beyond the rewound snd.nxt is accepted.
    expect(eventTypes(connection.receive(seg({ seq: guestSeq, ack: ourSeq + 300, flags: ACK })))).toEqual([]);
    expect(connection.nextDeadline()).toBeUndefined();
  });
});
