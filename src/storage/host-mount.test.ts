import { describe, expect, it } from "vitest";
import { isMountPoint, mountPointsOf } from "./host-mount.js";

describe("mount points", () => {
  it("reads field 5 of mountinfo, with octal escapes", () => {
    const text = [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "40 22 7:0 / /var/lib/with\\040space rw - ext4 /dev/loop0 rw",
      "",
    ].join("\n");
    expect([...mountPointsOf(text)]).toEqual(["/", "/var/lib/with space"]);
  });

  it("knows / and /proc are mount points and a missing path is not", () => {
    expect(isMountPoint("/proc")).toBe(true);
    expect(isMountPoint("/")).toBe(true);
    expect(isMountPoint("/nonexistent/path")).toBe(false);
  });
});
