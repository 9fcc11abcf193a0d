/**
 * The plaintext relay on plain TCP, on a real (busybox) VM: the stack hands the guest's bytes to the relay's
 * session before they go upstream. A test relay rewrites `/greet` to `/hello` (so the answer proves the
 * rewritten bytes went upstream) and blocks a connection carrying `BLOCKME`.
 */
import { describe, expect, it } from "vitest";
import type { PlaintextRelay, RelayFlow } from "../../src/net/tls/plaintext-relay.js";
import { useNetVm } from "../fixtures/netns/use-net-vm.js";

const flows: RelayFlow[] = [];
const seen: string[] = [];
const relay: PlaintextRelay = {
  wantsPlain: (flow) => flow.port === 80,
  open: (flow) => {
    flows.push(flow);
    return {
      fromGuest: (chunk) => {
        const text = Buffer.from(chunk).toString("latin1");
        seen.push(text);
        if (text.includes("BLOCKME")) return { block: "test marker" };
        return { forward: [Buffer.from(text.replace("GET /greet ", "GET /hello "), "latin1")] };
      },
      endFromGuest: () => ({ forward: [] }),
      close: () => undefined,
    };
  },
};

describe("plaintext relay on plain TCP", () => {
  const fx = useNetVm("net-relay", (dns) => ({ dnsServers: [dns], relay }));
  const exec = (script: string) => fx().netVm.vm.exec({ argv: ["sh", "-c", script], timeoutMs: 60_000 });

  it("passes the guest's bytes through the session before they go upstream", async () => {
    const out = await exec("timeout 30 wget -q -O - http://pub.test/greet");
    expect(out.stdout.toString()).toBe("hello from public\n");
    expect(seen.join("")).toMatch(/^GET \/greet HTTP\/1\.[01]\r\n/);
    expect(flows[0]).toMatchObject({ host: "pub.test", address: "45.33.0.80", port: 80, tls: false });
    expect(fx().netVm.net.metrics().plainRelayed).toBeGreaterThanOrEqual(1);
  });

  it("resets the connection when the session blocks", async () => {
    const out = await exec("timeout 30 wget -q -O - 'http://pub.test/hello?BLOCKME'");
    expect(out.code).not.toBe(0);
    expect(out.stdout.toString()).toBe("");
    expect(fx().netVm.net.metrics().relayBlocked).toBe(1);
  });
});
