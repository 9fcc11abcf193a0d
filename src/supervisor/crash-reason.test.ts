import { describe, expect, it } from "vitest";
import { crashReason } from "./crash-reason.js";

const exited = { code: 0, signal: null };

describe("crashReason", () => {
  it("names a guest kernel panic, quoting one clean line", () => {
    const console = "[    1.2] ok\n[    2.0] Kernel panic - not syncing: Attempted to kill init! \x1b[0m\n";
    expect(crashReason(console, exited)).toBe(
      "guest kernel panic (Kernel panic - not syncing: Attempted to kill init!)",
    );
  });

  it("says out of memory when the OOM killer ran before the panic", () => {
    const console = [
      "[ 5.0] sh invoked oom-killer: gfp_mask=0x140cca",
      "[ 5.1] Out of memory and no killable processes...",
      "[ 5.1] Kernel panic - not syncing: System is deadlocked on memory",
    ].join("\n");
    expect(crashReason(console, exited)).toMatch(/^out of memory: the guest kernel panicked/);
  });

  it("falls back to how QEMU ended", () => {
    expect(crashReason("", { code: null, signal: "SIGKILL" })).toBe("QEMU was killed by SIGKILL");
    expect(crashReason("booting\n", { code: 1, signal: null })).toBe("the VM exited unexpectedly (code 1)");
  });

  it("says KVM stopped the guest when that is why QEMU was killed", () => {
    const exit = { code: null, signal: "SIGKILL" as const, kvmFailure: "KVM internal error. Suberror: 1" };
    expect(crashReason("booting\n", exit)).toBe("KVM stopped the guest (KVM internal error. Suberror: 1)");
  });

  it("bounds what it quotes from a hostile console", () => {
    const reason = crashReason(`Kernel panic - not syncing: ${"x".repeat(100_000)}`, exited);
    expect(reason.length).toBeLessThan(200);
  });
});
