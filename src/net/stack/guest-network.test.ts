import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { NetworkStack } from "./network-stack.js";
import type { NetworkStackOptions } from "./network-stack.js";

const dir = tempDirs("msb-guestnet-")();

describe("NetworkStack.guestNetwork", () => {
  it("is what a stack started with the same options gives its VM, under every policy and link", async () => {
    const cases: Omit<NetworkStackOptions, "socketPath">[] = [
      {},
      { hostname: "box-1", network: { policy: "allow-all" } },
      { hostname: "box-2", network: { policy: "none" } },
      { hostname: "box-3", link: { mtu: 1400 } },
    ];
    for (const [i, options] of cases.entries()) {
      const socketPath = join(dir, `net-${i}.sock`);
      const stack = await NetworkStack.start({ ...options, socketPath, dnsServers: ["127.0.0.1:53"] });
      try {
        expect(NetworkStack.guestNetwork({ ...options, socketPath })).toEqual({
          nic: stack.nic,
          configure: stack.guestConfig,
        });
      } finally {
        stack.close();
      }
    }
  });

  it("has no NIC under policy none, and refuses a bad policy as start does", () => {
    expect(NetworkStack.guestNetwork({ socketPath: "/x", network: { policy: "none" } }).nic).toBeUndefined();
    expect(NetworkStack.guestNetwork({ socketPath: "/x" }).nic).toMatchObject({ socketPath: "/x" });
    const bad = { socketPath: "/x", network: { policy: "sometimes" } } as unknown as NetworkStackOptions;
    expect(() => NetworkStack.guestNetwork(bad)).toThrow(InvalidConfigError);
  });
});
