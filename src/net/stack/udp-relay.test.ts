import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { decodeFrame } from "../packet/decode.js";
import { guestUdp, stackHarness } from "./harness.fixture.js";

/** UDP payloads the stack sent to the guest. */
function udpPayloads(sent: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const frame of sent) {
    const decoded = decodeFrame(frame);
    if (decoded.ok && decoded.value.kind === "ipv4" && decoded.value.transport.kind === "udp")
      out.push(Buffer.from(decoded.value.transport.udp.payload).toString());
  }
  return out;
}

describe("UDP relay", () => {
  it("relays the first datagrams of a new flow (sent before its socket connected) and the answers", async () => {
    const server = createSocket("udp4");
    server.on("message", (msg, peer) => {
      server.send(Buffer.from(`echo:${msg.toString()}`), peer.port, peer.address);
    });
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    const h = stackHarness({ policy: "allow-all" });
    try {
      const port = server.address().port;
      h.feed(guestUdp("127.0.0.1", port, Buffer.from("one")));
      h.feed(guestUdp("127.0.0.1", port, Buffer.from("two")));
      const deadline = Date.now() + 5000;
      while (udpPayloads(h.sent).length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(udpPayloads(h.sent)).toEqual(["echo:one", "echo:two"]);
    } finally {
      h.close();
      server.close();
    }
  });

  it("refuses UDP to the blocked (QUIC) ports with admin-prohibited", () => {
    const h = stackHarness({ policy: "allow-all", tls: { blockQuic: true } });
    try {
      h.feed(guestUdp("127.0.0.1", 443, Buffer.from("quic")));
      const icmp = h.sent.map((f) => decodeFrame(f)).find((d) => d.ok && d.value.kind === "ipv4");
      expect(icmp?.ok === true && icmp.value.kind === "ipv4" && icmp.value.transport.kind).toBe("icmpv4");
      expect(h.udp.size).toBe(0);
    } finally {
      h.close();
    }
  });
});
