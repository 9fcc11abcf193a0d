import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { decodeFrame } from "../packet/decode.js";
import { buildEthernet, EtherType } from "../packet/ethernet.js";
import { buildIpv4, IpProtocol } from "../packet/ipv4.js";
import { recorded } from "../packet/recorded.fixture.js";
import { buildTcp } from "../packet/tcp.js";
import { formatIpv4, parseIpv4 } from "../ip/ipv4.js";
import { ACK, FIN, FakeClock, FLOW, RST, SYN, eventTypes, only, seg } from "./harness.fixture.js";
import { TcpConnectionTable } from "./table.js";
import type { TcpFlowId } from "./types.js";

function table(maxConnections: number) {
  const clock = new FakeClock();
  let isn = 100;
  return { clock, table: new TcpConnectionTable({ maxConnections, clock, isn: () => (isn += 1000) }) };
}

function flow(port: number): TcpFlowId {
  return { ...FLOW, guestPort: port };
}

describe("TcpConnectionTable", () => {
  it("rejects an invalid limit", () => {
    expect(() => new TcpConnectionTable({ maxConnections: 0, clock: new FakeClock() })).toThrow(
      InvalidConfigError,
    );
  });

  it("answers a SYN flood beyond maxConnections with RST and never grows past it", () => {
    const { table: t } = table(8);
    let rejected = 0;
    for (let port = 1000; port < 11000; port++) {
      const out = t.receive(flow(port), seg({ seq: port * 7, flags: SYN }));
      if (port < 1008) {
        expect(out.events).toEqual([{ type: "connect" }]);
      } else {
        rejected += 1;
        expect(only(out)).toMatchObject({ seq: 0, ack: port * 7 + 1, flags: RST | ACK });
        expect(out.events).toEqual([{ type: "rejected", reason: "table-full" }]);
      }
      expect(t.size).toBeLessThanOrEqual(8);
    }
    expect(rejected).toBe(10000 - 8);
    expect(t.size).toBe(8);
  });

  it("frees the slot of a closed connection", () => {
    const { table: t } = table(1);
    t.receive(flow(1), seg({ seq: 1, flags: SYN }));
    t.get(flow(1))?.refuse();
    expect(t.size).toBe(0);
    expect(t.receive(flow(2), seg({ seq: 1, flags: SYN })).events).toEqual([{ type: "connect" }]);
  });

  it("resets segments of unknown flows and stays silent on RSTs", () => {
    const { table: t } = table(4);
    expect(only(t.receive(FLOW, seg({ seq: 10, ack: 77, flags: ACK })))).toMatchObject({
      seq: 77,
      flags: RST,
    });
    expect(only(t.receive(FLOW, seg({ seq: 10, flags: FIN, payload: "ab" })))).toMatchObject({
      seq: 0,
      ack: 13,
      flags: RST | ACK,
    });
    expect(t.receive(FLOW, seg({ seq: 10, flags: RST })).segments).toEqual([]);
    expect(only(t.receive(FLOW, seg({ seq: 10, flags: SYN | FIN })))).toMatchObject({ flags: RST | ACK });
    expect(t.size).toBe(0);
  });

  it("routes segments to their connection and drives timers through tick()", () => {
    const { table: t, clock } = table(4);
    t.receive(flow(1), seg({ seq: 1, flags: SYN }));
    t.receive(flow(2), seg({ seq: 1, flags: SYN }));
    t.get(flow(1))?.accept();
    expect(t.nextDeadline()).toBe(1000);
    clock.time = 1000;
    const outputs = t.tick();
    expect(outputs.map((o) => o.flow.guestPort)).toEqual([1]);
    expect(only(outputs[0] ?? { flow: FLOW, segments: [], events: [] }).flags).toBe(SYN | ACK);
  });

  it("lets a new SYN with a higher sequence number reuse a flow in TIME-WAIT", () => {
    const { table: t } = table(1);
    t.receive(FLOW, seg({ seq: 1, flags: SYN }));
    const connection = t.get(FLOW);
    connection?.accept();
    t.receive(FLOW, seg({ seq: 2, ack: 1101, flags: ACK }));
    connection?.close();
    t.receive(FLOW, seg({ seq: 2, ack: 1102, flags: ACK | FIN }));
    expect(connection?.state).toBe("time-wait");
    const reuse = t.receive(FLOW, seg({ seq: 500, flags: SYN }));
    expect(eventTypes(reuse)).toEqual(["closed", "connect"]);
    expect(t.size).toBe(1);
    expect(t.get(FLOW)).not.toBe(connection);
  });

  it("opens active connections within the limit", () => {
    const { table: t } = table(1);
    expect(only(t.open(flow(1))).flags).toBe(SYN);
    expect(t.open(flow(1)).events).toEqual([{ type: "rejected", reason: "duplicate-flow" }]);
    expect(t.open(flow(2)).events).toEqual([{ type: "rejected", reason: "table-full" }]);
  });

  it("abortAll resets every connection", () => {
    const { table: t } = table(4);
    t.receive(flow(1), seg({ seq: 1, flags: SYN }));
    t.receive(flow(2), seg({ seq: 1, flags: SYN }));
    t.get(flow(2))?.accept();
    const outputs = t.abortAll();
    expect(outputs.flatMap((o) => o.segments.map((s) => s.flags & RST))).toEqual([RST, RST]);
    expect(t.size).toBe(0);
  });

  it("survives random garbage segments: never throws, stays bounded, emits sane segments", () => {
    const { table: t, clock } = table(16);
    let state = 1;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const flagsPool = [SYN, ACK, ACK | FIN, RST, SYN | ACK, ACK | RST, FIN, 0, 0x1ff, ACK | 0x08];
    const problems: string[] = [];
    let maxSize = 0;
    for (let i = 0; i < 30000; i++) {
      const f = flow(random(24));
      const connection = t.get(f);
      if (connection?.state === "syn-pending") connection.accept();
      const segment = seg({
        seq: random(3) === 0 ? random(2 ** 31) * 2 : 1000 + random(4000),
        ack: random(3) === 0 ? random(2 ** 31) * 2 : 1100 + random(3000),
        flags: flagsPool[random(flagsPool.length)] ?? 0,
        window: random(65536),
        options: random(4) === 0 ? { mss: random(65536), windowScale: random(15) } : {},
        payload: new Uint8Array(random(3) === 0 ? random(3000) : 0),
      });
      const out = t.receive(f, segment);
      for (const s of out.segments) {
        if (s.seq >>> 0 !== s.seq || s.ack >>> 0 !== s.ack || s.window > 0xffff || s.window < 0)
          problems.push(JSON.stringify(s));
      }
      if (random(5) === 0) t.get(f)?.write(new Uint8Array(random(5000)));
      if (random(50) === 0) t.get(f)?.close();
      if (random(7) === 0) t.get(f)?.consumed(random(10000));
      if (random(10) === 0) {
        clock.advance(random(3000));
        t.tick();
      }
      maxSize = Math.max(maxSize, t.size);
    }
    expect(problems).toEqual([]);
    expect(maxSize).toBeLessThanOrEqual(16);
  });
});

describe("with the packet codec", () => {
  it("accepts the recorded Linux SYN and answers a SYN-ACK the codec parses back", () => {
    const frame = decodeFrame(recorded.tcpSyn);
    if (!frame.ok || frame.value.kind !== "ipv4" || frame.value.transport.kind !== "tcp")
      throw new Error("decode");
    const { ip, transport, ethernet } = frame.value;
    const tcp = transport.tcp;
    const id: TcpFlowId = {
      guestAddress: formatIpv4(ip.source),
      guestPort: tcp.sourcePort,
      remoteAddress: formatIpv4(ip.destination),
      remotePort: tcp.destinationPort,
    };
    const { table: t } = table(4);
    expect(t.receive(id, tcp).events).toEqual([{ type: "connect" }]);
    const synAck = only(t.get(id)?.accept() ?? { flow: id, segments: [], events: [] });
    const source = parseIpv4(id.remoteAddress) ?? 0;
    const destination = parseIpv4(id.guestAddress) ?? 0;
    const bytes = buildEthernet({
      destination: ethernet.source,
      source: ethernet.destination,
      etherType: EtherType.ipv4,
      payload: buildIpv4({
        source,
        destination,
        protocol: IpProtocol.tcp,
        payload: buildTcp({
          ...synAck,
          source,
          destination,
          sourcePort: id.remotePort,
          destinationPort: id.guestPort,
        }),
      }),
    });
    const back = decodeFrame(bytes);
    expect(back).toMatchObject({
      ok: true,
      value: {
        transport: {
          kind: "tcp",
          tcp: {
            flags: SYN | ACK,
            ack: (tcp.seq + 1) >>> 0,
            sourcePort: 18080,
            destinationPort: 49462,
            options: { mss: 1460, windowScale: 2 },
          },
        },
      },
    });
  });
});
