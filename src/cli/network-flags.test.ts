import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import {
  networkFromFlags,
  parsePublishFlag,
  portsFromFlags,
  parseSecretFlag,
  secretsFromFlags,
} from "./network-flags.js";

/** The error `run` throws, checked to be an InvalidConfigError of `field`. */
function failure(run: () => unknown, field: string): InvalidConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toBe(field);
    return err as InvalidConfigError;
  }
  throw new Error("expected a failure");
}

describe("-p HOST:GUEST[/udp]", () => {
  it("builds the seed's ports option", () => {
    expect(parsePublishFlag("8080:80")).toEqual(["8080", 80]);
    expect(parsePublishFlag("8080:80/tcp")).toEqual(["8080", 80]);
    expect(parsePublishFlag("5353:53/udp")).toEqual(["5353/udp", 53]);
    expect(portsFromFlags(["8080:80", "8080:53/udp", "9000:9000"])).toEqual({
      "8080": 80,
      "8080/udp": 53,
      "9000": 9000,
    });
    expect(portsFromFlags([])).toBeUndefined();
  });

  it("refuses malformed values, port 0 and 65536, other protocols, and a host port twice", () => {
    for (const bad of [
      "8080",
      "8080:",
      ":80",
      "a:b",
      "0:80",
      "8080:65536",
      "8080:80/sctp",
      "1.2.3.4:80:80",
      "80:80 x",
    ]) {
      expect(failure(() => parsePublishFlag(bad), "--publish").message).toContain(JSON.stringify(bad));
    }
    failure(() => portsFromFlags(["8080:80", "8080:81"]), "--publish");
    failure(() => portsFromFlags(["53:53/udp", "53:54/udp"]), "--publish");
  });
});

describe("--network and --block-domain", () => {
  it("builds the seed's network option", () => {
    expect(networkFromFlags(undefined, [])).toBeUndefined();
    expect(networkFromFlags("none", [])).toEqual({ policy: "none" });
    expect(networkFromFlags("allow-all", [])).toEqual({ policy: "allow-all" });
    expect(networkFromFlags(undefined, ["ads.example.com", "*.tracker.test", ".evil.test"])).toEqual({
      blockDomains: ["ads.example.com"],
      blockDomainSuffixes: ["tracker.test", "evil.test"],
    });
    expect(networkFromFlags("public-only", ["a.test"])).toEqual({
      policy: "public-only",
      blockDomains: ["a.test"],
    });
  });

  it("refuses unknown presets and names that are not domains", () => {
    failure(() => networkFromFlags("open", []), "--network");
    for (const bad of ["", "*.", "http://x.test", "a b", "x.test:80"]) {
      failure(() => networkFromFlags(undefined, [bad]), "--block-domain");
    }
  });
});

describe("--secret ENV=VALUE@HOST and ENV@HOST", () => {
  const environment = { OPENAI_API_KEY: "sk-from-env", EMPTY: "" };

  it("builds Secret.env entries, the value given or taken from msb's environment", () => {
    expect(parseSecretFlag("API_KEY=s3cr=t@x@api.example.com", {})).toEqual({
      envVar: "API_KEY",
      value: "s3cr=t@x",
      allowHosts: ["api.example.com"],
    });
    expect(parseSecretFlag("OPENAI_API_KEY@api.openai.com,*.openai.com", environment)).toEqual({
      envVar: "OPENAI_API_KEY",
      value: "sk-from-env",
      allowHosts: ["api.openai.com"],
      allowHostPatterns: ["*.openai.com"],
    });
    expect(secretsFromFlags([], environment)).toBeUndefined();
    expect(secretsFromFlags(["A=1@a.test", "B=2@b.test"], {})?.map((s) => s.envVar)).toEqual(["A", "B"]);
  });

  it("refuses bad flags without ever showing the value", () => {
    const value = "sk-VERY-SECRET-value";
    const cases: [string, Record<string, string>][] = [
      [`KEY=${value}`, {}], // no host
      [value, {}], // the value alone
      [`KEY=${value}@`, {}], // empty host
      [`KEY=${value}@not a host`, {}],
      [`KEY=${value}@http://x.test`, {}],
      [`bad-name=${value}@x.test`, {}],
      [`=${value}@x.test`, {}],
      ["KEY=@x.test", {}], // empty value
      ["MISSING@x.test", { OTHER: value }], // not in the environment
      ["EMPTY@x.test", { EMPTY: "" }],
    ];
    for (const [spec, env] of cases) {
      const err = failure(() => parseSecretFlag(spec, env), "--secret");
      expect(`${err.message} ${err.hint ?? ""}`).not.toContain(value);
      expect(`${err.message} ${err.hint ?? ""}`).not.toContain("sk-");
    }
    const twice = failure(() => secretsFromFlags([`K=${value}@a.test`, `K=${value}@b.test`], {}), "--secret");
    expect(twice.message).not.toContain(value);
  });
});
