import { describe, expect, it } from "vitest";
import { InvalidStateError } from "../../errors.js";
import type { TcpOptions } from "../packet/tcp-options.js";
import { TcpConnection } from "./connection.js";
import type { TcpConnectionOptions } from "./types.js";
import {
  ACK,
  FakeClock,
  FLOW,
  GUEST_ISS,
  OUR_ISS,
  RST,
  SYN,
  dataEvents,
  establish,
  eventTypes,
  only,
  seg,
  textOf,
} from "./harness.fixture.js";

function pending(synOptions: TcpOptions = { mss: 1460, windowScale: 7 }, options: TcpConnectionOptions = {}) {
  const clock = new FakeClock();
  const closed: string[] = [];
  const { connection, output } = TcpConnection.fromSyn(
    { flow: FLOW, clock, iss: OUR_ISS, options, onClosed: () => closed.push("closed") },
    seg({ seq: GUEST_ISS, flags: SYN, options: synOptions, window: 64240 }),
  );
  return { connection, output, clock, closed };
}

describe("passive open", () => {
  it("reports the SYN and answers nothing until the decision", () => {
    const { connection, output } = pending();
    expect(connection.state).toBe("syn-pending");
    expect(output.segments).toEqual([]);
    expect(output.events).toEqual([{ type: "connect" }]);
    expect(output.flow).toEqual(FLOW);
    expect(connection.receive(seg({ seq: GUEST_ISS, flags: SYN })).segments).toEqual([]);
  });

  it("accept sends SYN-ACK with our MSS and window scale, honouring the guest's", () => {
    const { connection } = pending();
    const synAck = only(connection.accept());
    expect(synAck).toMatchObject({
      seq: OUR_ISS,
      ack: GUEST_ISS + 1,
      flags: SYN | ACK,
      window: 65535,
      options: { mss: 1460, windowScale: 2 },
    });
    expect(connection.state).toBe("syn-received");
    const out = connection.receive(seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 1, flags: ACK, window: 100 }));
    expect(eventTypes(out)).toEqual(["established"]);
    expect(out.segments).toEqual([]);
    // The guest's window field is scaled by its shift (7): 100 << 7 = 12800 bytes may be sent.
    const written = connection.write(new Uint8Array(20000));
    expect(written.accepted).toBe(20000);
    expect(written.segments.reduce((n, s) => n + s.payload.length, 0)).toBe(12800);
  });

  it("sends no window scale when the guest offered none, and caps the window at 65535", () => {
    const { connection } = pending({ mss: 1460 });
    const synAck = only(connection.accept());
    expect(synAck.options).toEqual({ mss: 1460 });
    connection.receive(seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 1, flags: ACK, window: 1000 }));
    const ack = only(
      connection.receive(
        seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 1, flags: ACK, payload: "x", window: 1000 }),
      ),
    );
    expect(ack.window).toBe(65535);
    expect(connection.write(new Uint8Array(5000)).segments.reduce((n, s) => n + s.payload.length, 0)).toBe(
      1000,
    );
  });

  it.each([
    [{ mss: 100 }, 100],
    [{}, 536],
    [{ mss: 10 }, 64],
    [{ mss: 9000 }, 1460],
  ])("segments data by the guest's MSS %j -> %i", (synOptions, size) => {
    const { connection } = establish({ synOptions, window: 65535 });
    const out = connection.write(new Uint8Array(3000));
    expect(Math.max(...out.segments.map((s) => s.payload.length))).toBe(size);
  });

  it("refuse answers RST|ACK to the SYN and closes", () => {
    const { connection, closed } = pending();
    const out = connection.refuse();
    expect(only(out)).toMatchObject({ seq: 0, ack: GUEST_ISS + 1, flags: RST | ACK });
    expect(out.events).toEqual([{ type: "closed", reason: "refused" }]);
    expect(connection.state).toBe("closed");
    expect(closed).toEqual(["closed"]);
    expect(connection.accept().segments).toEqual([]);
  });

  it("times out an undecided SYN", () => {
    const { connection, clock } = pending({ mss: 1460, windowScale: 7 }, { decisionTimeoutMs: 5000 });
    expect(connection.nextDeadline()).toBe(5000);
    clock.advance(4999);
    expect(connection.tick().segments).toEqual([]);
    clock.advance(1);
    const out = connection.tick();
    expect(only(out).flags).toBe(RST | ACK);
    expect(out.events).toEqual([{ type: "closed", reason: "timeout" }]);
  });

  it("closes quietly when the guest resets a pending SYN", () => {
    const { connection } = pending();
    expect(connection.receive(seg({ seq: GUEST_ISS + 1, flags: RST })).events).toEqual([
      { type: "closed", reason: "reset" },
    ]);
    expect(connection.refuse().events).toEqual([]);
  });

  it("refuses to accept twice", () => {
    const { connection } = pending();
    connection.accept();
    expect(() => connection.accept()).toThrow(InvalidStateError);
    expect(() => connection.refuse()).toThrow(InvalidStateError);
  });

  it("retransmits the SYN-ACK with exponential backoff, then resets", () => {
    const { connection, clock } = pending(
      { mss: 1460, windowScale: 7 },
      { initialRtoMs: 1000, maxRetransmits: 3 },
    );
    connection.accept();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const deadline = connection.nextDeadline();
      if (deadline === undefined) throw new Error("no timer");
      clock.time = deadline;
      const out = connection.tick();
      times.push(clock.time);
      if (i < 3) expect(only(out)).toMatchObject({ seq: OUR_ISS, flags: SYN | ACK });
      else expect(out.events).toEqual([{ type: "closed", reason: "timeout" }]);
    }
    expect(times).toEqual([1000, 3000, 7000, 15000]);
  });

  it("resends the SYN-ACK when the guest repeats its SYN", () => {
    const { connection } = pending();
    connection.accept();
    expect(
      only(connection.receive(seg({ seq: GUEST_ISS, flags: SYN, options: { mss: 1460, windowScale: 7 } }))),
    ).toMatchObject({ flags: SYN | ACK, seq: OUR_ISS });
  });

  it("resets an unacceptable ACK in SYN-RECEIVED", () => {
    const { connection } = pending();
    connection.accept();
    expect(
      only(connection.receive(seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 77, flags: ACK }))),
    ).toMatchObject({ seq: OUR_ISS + 77, flags: RST });
    expect(connection.state).toBe("syn-received");
  });

  it("delivers data riding on the handshake ACK", () => {
    const { connection } = pending();
    connection.accept();
    const out = connection.receive(
      seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 1, flags: ACK, payload: "GET /" }),
    );
    expect(eventTypes(out)).toEqual(["established", "data"]);
    expect(textOf(dataEvents(out))).toBe("GET /");
    expect(only(out)).toMatchObject({ ack: GUEST_ISS + 6, flags: ACK });
  });

  it("queues host data written before the handshake completes", () => {
    const { connection } = pending();
    expect(connection.write(new Uint8Array(10)).accepted).toBe(10);
    connection.accept();
    const out = connection.receive(seg({ seq: GUEST_ISS + 1, ack: OUR_ISS + 1, flags: ACK }));
    expect(only(out)).toMatchObject({ seq: OUR_ISS + 1, flags: ACK | 0x08 });
  });
});

describe("active open (published ports)", () => {
  function opened(options: TcpConnectionOptions = {}) {
    const clock = new FakeClock();
    const { connection, output } = TcpConnection.open({ flow: FLOW, clock, iss: OUR_ISS, options });
    return { connection, output, clock };
  }

  it("sends SYN with MSS and window scale and establishes on SYN-ACK", () => {
    const { connection, output } = opened();
    expect(only(output)).toMatchObject({ seq: OUR_ISS, flags: SYN, options: { mss: 1460, windowScale: 2 } });
    const out = connection.receive(
      seg({
        seq: 9000,
        ack: OUR_ISS + 1,
        flags: SYN | ACK,
        options: { mss: 1400, windowScale: 3 },
        window: 1000,
      }),
    );
    expect(eventTypes(out)).toEqual(["established"]);
    expect(only(out)).toMatchObject({ seq: OUR_ISS + 1, ack: 9001, flags: ACK, window: 32768 });
    expect(connection.state).toBe("established");
  });

  it("drops window scaling when the SYN-ACK lacks it", () => {
    const { connection } = opened();
    const out = connection.receive(
      seg({ seq: 9000, ack: OUR_ISS + 1, flags: SYN | ACK, options: { mss: 1400 }, window: 1000 }),
    );
    expect(only(out).window).toBe(65535);
  });

  it("treats RST as connection refused and retransmits the SYN otherwise", () => {
    const refused = opened();
    expect(refused.connection.receive(seg({ seq: 0, ack: OUR_ISS + 1, flags: RST | ACK })).events).toEqual([
      { type: "closed", reason: "refused" },
    ]);
    const silent = opened({ initialRtoMs: 500 });
    silent.clock.time = 500;
    expect(only(silent.connection.tick())).toMatchObject({ seq: OUR_ISS, flags: SYN });
    const wrongAck = opened();
    expect(only(wrongAck.connection.receive(seg({ seq: 9000, ack: 1, flags: SYN | ACK })))).toMatchObject({
      seq: 1,
      flags: RST,
    });
  });
});
