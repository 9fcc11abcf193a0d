import { describe, expect, it } from "vitest";
import {
  ACK,
  FIN,
  RST,
  SYN,
  bytes,
  dataEvents,
  establish,
  eventTypes,
  only,
  seg,
} from "./harness.fixture.js";

describe("guest closes first", () => {
  it("CLOSE-WAIT, then LAST-ACK after the host closes, then CLOSED", () => {
    const { connection, guestSeq, ourSeq, closed } = establish();
    const fin = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK | FIN }));
    expect(eventTypes(fin)).toEqual(["end"]);
    expect(only(fin).ack).toBe(guestSeq + 1);
    expect(connection.state).toBe("close-wait");
    // Half-close: the host can still send.
    expect(connection.write(bytes("bye")).segments.length).toBe(1);
    const ourFin = connection.close();
    expect(connection.state).toBe("last-ack");
    expect(only(ourFin)).toMatchObject({ seq: ourSeq + 3, flags: ACK | FIN });
    const done = connection.receive(seg({ seq: guestSeq + 1, ack: ourSeq + 4, flags: ACK }));
    expect(done.events).toEqual([{ type: "closed", reason: "normal" }]);
    expect(closed).toEqual([connection]);
  });

  it("re-ACKs a retransmitted FIN and ignores data after it", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK | FIN }));
    const again = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK | FIN }));
    expect(eventTypes(again)).toEqual([]);
    expect(only(again).ack).toBe(guestSeq + 1);
    const late = connection.receive(seg({ seq: guestSeq + 1, ack: ourSeq, flags: ACK, payload: "late" }));
    expect(dataEvents(late)).toEqual([]);
  });
});

describe("host closes first", () => {
  it("FIN after queued data, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ options: { timeWaitMs: 500 } });
    connection.write(bytes("data"));
    const fin = connection.close();
    expect(only(fin)).toMatchObject({ seq: ourSeq + 4, flags: ACK | FIN });
    expect(connection.state).toBe("fin-wait-1");
    expect(connection.write(bytes("more")).accepted).toBe(0);
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 5, flags: ACK }));
    expect(connection.state).toBe("fin-wait-2");
    // The guest may still send in FIN-WAIT-2.
    const data = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 5, flags: ACK, payload: "tail" }));
    expect(eventTypes(data)).toEqual(["data"]);
    const theirFin = connection.receive(seg({ seq: guestSeq + 4, ack: ourSeq + 5, flags: ACK | FIN }));
    expect(eventTypes(theirFin)).toEqual(["end"]);
    expect(only(theirFin).ack).toBe(guestSeq + 5);
    expect(connection.state).toBe("time-wait");
    expect(connection.nextDeadline()).toBe(clock.time + 500);
    clock.advance(500);
    expect(connection.tick().events).toEqual([{ type: "closed", reason: "normal" }]);
  });

  it("holds the FIN while data waits for the guest's window", () => {
    const { connection, guestSeq, ourSeq } = establish({ window: 2, synOptions: { mss: 1460 } });
    const out = connection.write(bytes("abcd"));
    connection.close();
    expect(out.segments.map((s) => s.payload.length)).toEqual([2]);
    const rest = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 2, flags: ACK, window: 10 }));
    expect(rest.segments.map((s) => [s.seq - ourSeq, s.payload.length, s.flags & FIN])).toEqual([
      [2, 2, 0],
      [4, 0, FIN],
    ]);
  });

  it("FIN-WAIT-1 straight to TIME-WAIT when the guest's FIN acknowledges ours", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.close();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1, flags: ACK | FIN }));
    expect(connection.state).toBe("time-wait");
  });

  it("simultaneous close goes through CLOSING", () => {
    const { connection, guestSeq, ourSeq } = establish();
    connection.close();
    const crossed = connection.receive(seg({ seq: guestSeq, ack: ourSeq, flags: ACK | FIN }));
    expect(connection.state).toBe("closing");
    expect(only(crossed).ack).toBe(guestSeq + 1);
    connection.receive(seg({ seq: guestSeq + 1, ack: ourSeq + 1, flags: ACK }));
    expect(connection.state).toBe("time-wait");
  });

  it("re-ACKs a FIN retransmitted into TIME-WAIT and restarts the timer", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ options: { timeWaitMs: 1000 } });
    connection.close();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1, flags: ACK | FIN }));
    clock.advance(900);
    const again = connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1, flags: ACK | FIN }));
    expect(only(again).ack).toBe(guestSeq + 1);
    expect(connection.nextDeadline()).toBe(1900);
  });

  it("gives up on a guest that never sends its FIN", () => {
    const { connection, guestSeq, ourSeq, clock } = establish({ options: { finWait2TimeoutMs: 5000 } });
    connection.close();
    connection.receive(seg({ seq: guestSeq, ack: ourSeq + 1, flags: ACK }));
    clock.advance(5000);
    const out = connection.tick();
    expect(only(out).flags).toBe(RST | ACK);
    expect(out.events).toEqual([{ type: "closed", reason: "timeout" }]);
  });
});

describe("resets", () => {
  it("closes on a RST at exactly rcv.nxt", () => {
    const { connection, guestSeq } = establish();
    const out = connection.receive(seg({ seq: guestSeq, flags: RST }));
    expect(out.segments).toEqual([]);
    expect(out.events).toEqual([{ type: "closed", reason: "reset" }]);
    expect(connection.receive(seg({ seq: guestSeq, flags: ACK, payload: "x" })).segments).toEqual([]);
  });

  it("answers an in-window but inexact RST with a challenge ACK (RFC 5961) and stays open", () => {
    const { connection, guestSeq } = establish();
    const out = connection.receive(seg({ seq: guestSeq + 100, flags: RST }));
    expect(only(out)).toMatchObject({ flags: ACK, ack: guestSeq });
    expect(connection.state).toBe("established");
  });

  it("ignores a RST outside the window", () => {
    const { connection, guestSeq } = establish();
    expect(connection.receive(seg({ seq: guestSeq - 1000, flags: RST })).segments).toEqual([]);
    expect(connection.state).toBe("established");
  });

  it("answers a SYN on an established connection with a challenge ACK", () => {
    const { connection, guestSeq } = establish();
    expect(only(connection.receive(seg({ seq: guestSeq + 5, flags: SYN })))).toMatchObject({
      flags: ACK,
      ack: guestSeq,
    });
    expect(connection.state).toBe("established");
  });

  it("abort() sends RST at snd.nxt and closes", () => {
    const { connection, ourSeq, guestSeq } = establish();
    connection.write(bytes("abc"));
    const out = connection.abort();
    expect(only(out)).toMatchObject({ seq: ourSeq + 3, ack: guestSeq, flags: RST | ACK });
    expect(out.events).toEqual([{ type: "closed", reason: "aborted" }]);
    expect(connection.abort().segments).toEqual([]);
    expect(connection.write(bytes("x")).accepted).toBe(0);
    expect(connection.nextDeadline()).toBeUndefined();
  });
});
