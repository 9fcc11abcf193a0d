import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { checkBindAddress, parsePorts } from "./config.js";

describe("ports config", () => {
  it("parses tcp and udp mappings", () => {
    expect(parsePorts({ "8080": 80, "5353/udp": 53, "2222/tcp": 22 })).toEqual([
      { protocol: "tcp", hostPort: 8080, guestPort: 80 },
      { protocol: "udp", hostPort: 5353, guestPort: 53 },
      { protocol: "tcp", hostPort: 2222, guestPort: 22 },
    ]);
  });

  it.each([
    [{ http: 80 }, "ports.http"],
    [{ "70000": 80 }, "ports.70000"],
    [{ "8080": 0 }, "ports.8080"],
    [{ "8080": 1.5 }, "ports.8080"],
    [{ "8080/sctp": 80 }, "ports.8080/sctp"],
    [{ "8080": 80, "8080/tcp": 81 }, "ports.8080/tcp"],
  ])("rejects %j naming %s", (config, field) => {
    expect(() => parsePorts(config)).toThrow(expect.objectContaining({ field }) as InvalidConfigError);
  });

  it("checks the bind address", () => {
    expect(checkBindAddress(undefined)).toBe("127.0.0.1");
    expect(() => checkBindAddress("localhost")).toThrow(InvalidConfigError);
  });
});
