/**
 * The seed's `network` and `ports` options through `Sandbox.create()`: the supervisor runs the network stack,
 * the guest gets its NIC (or none), published ports answer on the host's loopback. Traffic stays on loopback.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { InvalidConfigError, NetworkPolicy, Sandbox } from "../../src/index.js";
import { freePort } from "../fixtures/registry/process.js";
import { fetchGuest } from "../fixtures/guest-http.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv({ python: true });

/** GET http://127.0.0.1:port/path, retried for up to 10 s while the guest server starts. */
async function get(port: number, path: string): Promise<string> {
  return await (await fetchGuest(port, path)).text();
}

describe("sandbox networking", () => {
  it("publishes a guest TCP port on the host (seed: ports)", async () => {
    const port = await freePort();
    await using web = await Sandbox.create({
      name: "web",
      image: "alpine:latest",
      ports: { [String(port)]: 80 },
    });
    // A server started in the background keeps running after the shell exits.
    await web.shell(
      "mkdir -p /www && echo 'hello from the guest' > /www/index.html && httpd -f -p 80 -h /www &",
    );
    expect(await get(port, "/index.html")).toBe("hello from the guest\n");
    const ifaces = await web.shell("ip -o link show | awk -F': ' '{print $2}'");
    expect(ifaces.stdout().split("\n")).toContain("eth0");
  });

  it("publishes a guest UDP port on the host", async () => {
    const port = await freePort();
    await using udp = await Sandbox.create({
      name: "udp",
      image: "python:3.12",
      ports: { [`${port}/udp`]: 5353 },
    });
    const server = [
      "import socket",
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
      "s.bind(('0.0.0.0', 5353))",
      "while True:",
      "    data, peer = s.recvfrom(2048)",
      "    s.sendto(b'echo:' + data, peer)",
    ].join("\n");
    await udp.shell(`python3 -c "${server}" > /dev/null 2>&1 &`);
    const client = createSocket("udp4");
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const deadline = setTimeout(() => {
          clearInterval(timer);
          reject(new Error("no UDP reply within 15 s"));
        }, 15_000);
        client.on("message", (msg) => {
          clearTimeout(deadline);
          clearInterval(timer);
          resolve(msg.toString());
        });
        // Bounded: at most 30 datagrams while the guest server starts.
        let sent = 0;
        const timer = setInterval(() => {
          if (sent++ < 30) client.send("ping", port, "127.0.0.1");
        }, 500);
      });
      expect(reply).toBe("echo:ping");
    } finally {
      client.close();
    }
  });

  it("answers the first request to a published port sent right after the guest server started (&)", async () => {
    const port = await freePort();
    await using web = await Sandbox.create({
      name: "web-early",
      image: "python:3.12",
      ports: { [String(port)]: 8000 },
    });
    await web.fs().write("/srv/index.html", "early bird\n");
    // The seed's port example: a server started in the background, then at once one request (no retry here:
    // the stack retries the guest while nothing listens yet, instead of resetting the client).
    await web.shell("cd /srv && python3 -m http.server 8000 > /dev/null 2>&1 &");
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("early bird\n");
    process.stderr.write(`[msb] first answer after ${Math.round(performance.now() - started)} ms\n`);
  });

  it("gives NetworkPolicy.none() sandboxes loopback only", async () => {
    await using isolated = await Sandbox.create({
      name: "isolated",
      image: "alpine:latest",
      network: NetworkPolicy.none(),
    });
    const out = await isolated.shell("ip -o link show | awk -F': ' '{print $2}'; cat /etc/resolv.conf");
    expect(out.stdout().trim().split("\n")).toEqual(["lo"]);
  });

  it("fails create clearly when a published port is taken, leaving nothing", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      await expect(
        Sandbox.create({ name: "clash-port", image: "alpine:latest", ports: { [String(port)]: 80 } }),
      ).rejects.toMatchObject({ code: "MSB_ERR_PORT_IN_USE" });
      expect((await Sandbox.list()).map((i) => i.name)).not.toContain("clash-port");
    } finally {
      busy.close();
    }
  });

  it("rejects invalid network rules naming them", async () => {
    const err = await Sandbox.create({
      name: "bad-rule",
      image: "alpine:latest",
      network: { rules: [{ action: "allow", destination: "10.0.0.0/33" }] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toMatch(/^network\.rules\[0\]/);
  });
});
