import { describe, expect, it } from "vitest";
import { decodeFrame } from "../packet/decode.js";
import { TcpFlag } from "../packet/tcp.js";
import { guestSyn, guestTcp, stackHarness } from "./harness.fixture.js";
import { SendBudget } from "./send-budget.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

describe("SendBudget", () => {
  it("wakes its waiters once, when a quarter of it is free again", () => {
    const budget = new SendBudget(1000);
    const woken: string[] = [];
    budget.adjust(1000);
    expect(budget.available).toBe(0);
    budget.wait(() => woken.push("a"));
    budget.wait(() => woken.push("b"));
    const c = () => woken.push("c");
    budget.wait(c);
    budget.cancel(c);
    budget.adjust(-100);
    expect(woken).toEqual([]);
    budget.adjust(-200);
    expect(woken).toEqual(["a", "b"]);
    budget.adjust(-700);
    expect(woken).toEqual(["a", "b"]);
    budget.adjust(-5);
    expect(budget.used).toBe(0);
  });
});

/** Our SYN-ACK's sequence number, from the frames sent to the guest. */
function ourIss(sent: readonly Uint8Array[], guestPort: number): number {
  for (const frame of sent) {
    const d = decodeFrame(frame);
    if (!d.ok || d.value.kind !== "ipv4" || d.value.transport.kind !== "tcp") continue;
    const tcp = d.value.transport.tcp;
    if (tcp.destinationPort === guestPort && (tcp.flags & TcpFlag.syn) !== 0) return tcp.seq;
  }
  throw new Error(`no SYN-ACK to port ${guestPort}`);
}

describe("TcpRelay send budget", () => {
  it("bounds the bytes held for the guest across connections and resumes a stopped writer", () => {
    const handles: TcpHandle[] = [];
    const writable: number[] = [];
    const h = stackHarness(
      { policy: "allow-all" },
      (handle) => {
        const index = handles.push(handle) - 1;
        handle.accept();
        const endpoint: TcpEndpoint = {
          established: () => undefined,
          data: () => undefined,
          end: () => undefined,
          writable: () => writable.push(index),
          closed: () => undefined,
        };
        return endpoint;
      },
      { sendBudgetBytes: 200 * 1024 },
    );
    const remote = "45.33.0.80";
    const issOf: number[] = [];
    for (const port of [50001, 50002]) {
      h.feed(guestSyn(remote, 80, port));
      const iss = ourIss(h.sent, port);
      issOf.push(iss);
      h.feed(guestTcp(remote, 80, port, { seq: 1001, ack: iss + 1 }));
    }
    const [a, b] = handles;
    if (a === undefined || b === undefined) throw new Error("expected two connections");
    // A fills its own 128 KiB send buffer; B gets only what is left of the 200 KiB budget.
    expect(a.write(new Uint8Array(150 * 1024))).toBe(128 * 1024);
    expect(b.write(new Uint8Array(150 * 1024))).toBe(72 * 1024);
    expect(h.tcp.sendBuffered).toBe(200 * 1024);
    expect(writable).toEqual([]);
    // The guest acknowledges everything A sent: the budget frees up and B is told to write again.
    h.feed(guestTcp(remote, 80, 50001, { seq: 1001, ack: (issOf[0] ?? 0) + 1 + 128 * 1024 }));
    expect(h.tcp.sendBuffered).toBe(72 * 1024);
    expect(writable).toContain(1);
    expect(b.write(new Uint8Array(100 * 1024))).toBe(56 * 1024); // up to B's own 128 KiB
    h.close();
    expect(h.tcp.sendBuffered).toBe(0);
  });
});
