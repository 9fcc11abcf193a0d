/**
 * The `msb` CLI's network flags against real sandboxes: `-p` publishes a guest port (its first request answered
 * even though the server was started a moment before), `--block-domain` is refused by the sandbox's DNS,
 * `--network none` leaves loopback only, and `--secret` gives the guest the placeholder, never showing the value. Traffic stays on loopback.
 */
import { describe, expect, it } from "vitest";
import { freePort } from "../fixtures/registry/process.js";
import { msb } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv({}, 600_000);

describe("msb network flags", () => {
  it("create -p publishes a port and --block-domain blocks a name; inspect shows both", async () => {
    const port = await freePort();
    const udp = await freePort();
    const created = await msb(
      "create",
      "--name",
      "web",
      "-p",
      `${port}:80`,
      "-p",
      `${udp}:53/udp`,
      "--block-domain",
      "blocked.test",
      "--block-domain",
      "*.tracker.test",
      "alpine:latest",
    );
    expect(created).toMatchObject({ code: 0, stdout: "web\n" });
    const started = await msb(
      "exec",
      "web",
      "--",
      "sh",
      "-c",
      "mkdir -p /www && echo via-cli > /www/index.html && httpd -f -p 80 -h /www &",
    );
    expect(started.code).toBe(0);
    // One request, at once: the stack retries the guest while httpd starts.
    const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(15_000) });
    expect(await res.text()).toBe("via-cli\n");
    // Blocked names get NXDOMAIN from the sandbox's resolver (no upstream is asked).
    const lookup = await msb(
      "exec",
      "web",
      "--",
      "sh",
      "-c",
      "nslookup blocked.test; nslookup x.tracker.test",
    );
    expect(lookup.stdout + lookup.stderr).toMatch(/NXDOMAIN[\s\S]*NXDOMAIN/);
    const inspect = await msb("inspect", "web");
    const [info] = JSON.parse(inspect.stdout) as { config: Record<string, unknown> }[];
    expect(info?.config["ports"]).toEqual({ [String(port)]: 80, [`${udp}/udp`]: 53 });
    expect(info?.config["network"]).toEqual({
      blockDomains: ["blocked.test"],
      blockDomainSuffixes: ["tracker.test"],
    });
    expect((await msb("rm", "-f", "web")).code).toBe(0);
  });

  it("run --network none has loopback only", async () => {
    const run = await msb("run", "--rm", "--network", "none", "alpine:latest", "--", "ls", "/sys/class/net");
    expect(run).toMatchObject({ code: 0, stdout: "lo\n" });
  });

  it("refuses bad network flags before anything starts, never showing a secret's value", async () => {
    const value = "sk-cli-SECRET-value-42";
    const badPort = await msb("run", "--rm", "-p", "80", "alpine:latest", "--", "true");
    expect(badPort.code).toBe(125);
    expect(badPort.stderr).toMatch(/invalid --publish/);
    const badNet = await msb("run", "--rm", "--network", "open", "alpine:latest", "--", "true");
    expect(badNet.code).toBe(125);
    expect(badNet.stderr).toMatch(/invalid --network/);
    for (const flag of [
      `API_KEY=${value}`,
      value,
      `API_KEY=${value}@not a host`,
      "NOT_SET_ANYWHERE@x.test",
    ]) {
      const bad = await msb("run", "--rm", "--secret", flag, "alpine:latest", "--", "true");
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/invalid --secret/);
      expect(bad.stdout + bad.stderr).not.toContain(value);
    }
    // A well-formed secret, its value from msb's environment: the guest sees only the placeholder.
    process.env["MSB_CLI_TEST_KEY"] = value;
    try {
      const good = await msb(
        "run",
        "--rm",
        "--secret",
        "MSB_CLI_TEST_KEY@api.example.com",
        "alpine:latest",
        "--",
        "sh",
        "-c",
        "echo $MSB_CLI_TEST_KEY",
      );
      expect(good).toMatchObject({ code: 0, stdout: "$MSB_MSB_CLI_TEST_KEY\n" });
      expect(good.stdout + good.stderr).not.toContain(value);
    } finally {
      Reflect.deleteProperty(process.env, "MSB_CLI_TEST_KEY");
    }
    expect((await msb("ls", "-q")).stdout).toBe("");
  });
});
