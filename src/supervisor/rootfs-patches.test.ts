import { describe, expect, it } from "vitest";
import type { NetConfigureMessage } from "../protocol/messages.js";
import { Patch } from "../storage/patch.js";
import { patchNetFiles } from "./rootfs-patches.js";

const generated: NetConfigureMessage = {
  type: "net.configure",
  resolvConf: "nameserver 10.0.2.3\n",
  hosts: "127.0.0.1\tlocalhost\n",
};

describe("patchNetFiles", () => {
  it("applies text and append patches to the generated files, in order, and nothing else", () => {
    const out = patchNetFiles(generated, [
      Patch.append("/etc/hosts", "127.0.0.1 a.local\n"),
      Patch.text("/etc/greeting", "not a network file"),
      Patch.text("/etc/resolv.conf", "nameserver 1.1.1.1", { replace: true }),
      Patch.append("/etc/resolv.conf", "options ndots:1\n"),
      Patch.append("/etc//hosts", "127.0.0.1 b.local\n"),
    ]);
    expect(out.hosts).toBe("127.0.0.1\tlocalhost\n127.0.0.1 a.local\n127.0.0.1 b.local\n");
    expect(out.resolvConf).toBe("nameserver 1.1.1.1\noptions ndots:1\n");
    expect(out.type).toBe("net.configure");
  });

  it("leaves the message as it was without patches", () => {
    expect(patchNetFiles(generated, undefined)).toEqual(generated);
    expect(patchNetFiles(generated, [Patch.mkdir("/app")])).toEqual(generated);
  });
});
