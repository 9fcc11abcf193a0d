/**
 * The `none` and `allow-all` presets on real VMs: `none` leaves the guest with loopback only (no NIC, no DNS);
 * `allow-all` reaches the private test host.
 */
import { describe, expect, it } from "vitest";
import { useNetVm } from "../fixtures/netns/use-net-vm.js";

const sh = (script: string) => ({ argv: ["sh", "-c", script], timeoutMs: 60_000 });

describe("policy none", () => {
  const fx = useNetVm("net-none", (dns) => ({ dnsServers: [dns], network: { policy: "none" } }));

  it("gives the guest loopback only: no NIC, no route, no DNS", async () => {
    expect(fx().netVm.net.nic).toBeUndefined();
    const vm = fx().netVm.vm;
    const links = await vm.exec(sh("ls /sys/class/net"));
    expect(links.stdout.toString().trim()).toBe("lo");
    expect((await vm.exec(sh("ping -c 1 -W 1 127.0.0.1"))).code).toBe(0);
    const started = performance.now();
    const lookup = await vm.exec(sh("nslookup pub.test; timeout 10 wget -q -O - http://45.33.0.80/hello"));
    expect(lookup.code).not.toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(fx().dns.queries).toEqual([]);
  });
});

describe("policy allow-all", () => {
  const fx = useNetVm("net-allow-all", (dns) => ({ dnsServers: [dns], network: { policy: "allow-all" } }));

  it("reaches the private test host", async () => {
    const out = await fx().netVm.vm.exec(sh("timeout 30 wget -q -O - http://10.211.5.80/hello"));
    expect(out.stdout.toString()).toBe("hello from private\n");
  });

  it("still refuses the stack's own addresses on other ports", async () => {
    const out = await fx().netVm.vm.exec(sh("timeout 30 wget -q -O - http://10.0.2.2:80/"));
    expect(out.stderr.toString()).toMatch(/Connection refused/);
  });
});
