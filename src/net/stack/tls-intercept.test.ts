import { type AddressInfo, type Server, createServer } from "node:net";
import { type TLSSocket, connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../policy/compile.js";
import type { NetworkConfig } from "../policy/types.js";
import { type CaMaterial, generateCa } from "../tls/ca.js";
import { compileTls } from "../tls/config.js";
import { LeafMinter } from "../tls/leaf-minter.js";
import type { PlaintextRelay, RelayFlow } from "../tls/plaintext-relay.js";
import { upstreamTrust } from "../tls/upstream-trust.js";
import { type FakeGuest, fakeGuest } from "./fake-guest.fixture.js";
import { offlineStackContext } from "./harness.fixture.js";
import { connectOutbound } from "./outbound.js";
import { newTlsCounters } from "./tls-counters.js";
import type { TlsInterception } from "./tls-intercept.js";

/** A relay that upper-cases guest bytes and blocks a connection whose bytes contain "BLOCKME". */
function upperRelay(opened: RelayFlow[], plain = false): PlaintextRelay {
  return {
    wantsPlain: () => plain,
    open: (flow) => {
      opened.push(flow);
      return {
        fromGuest: (chunk) => {
          const text = Buffer.from(chunk).toString("latin1");
          if (text.includes("BLOCKME")) return { block: "marker seen" };
          return { forward: [Buffer.from(text.toUpperCase(), "latin1")] };
        },
        endFromGuest: () => ({ forward: [] }),
        close: () => undefined,
      };
    },
  };
}

let upstreamCa: CaMaterial;
let interceptCa: CaMaterial;
let tlsServer: Server;
let tlsPort = 0;
let plainServer: Server;
let plainPort = 0;
const received: string[] = [];

beforeAll(async () => {
  upstreamCa = await generateCa();
  interceptCa = await generateCa();
  const upstreamMinter = await LeafMinter.create(upstreamCa);
  // The "real" server: echoes what it received, prefixed; ALPN http/1.1 only.
  const serverContext = await upstreamMinter.context("127.0.0.1");
  tlsServer = createTlsServer(
    {
      SNICallback: (name, done) => {
        upstreamMinter.context(name).then((c) => {
          done(null, c);
        }, done);
      },
      secureContext: serverContext,
      ALPNProtocols: ["http/1.1"],
    },
    (socket) => {
      socket.on("data", (d: Buffer) => {
        received.push(d.toString());
        socket.write(`echo:${d.toString()}`);
      });
      socket.on("end", () => socket.end());
      socket.on("error", () => undefined);
    },
  );
  plainServer = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("data", (d: Buffer) => {
      received.push(d.toString());
      socket.write(`plain:${d.toString()}`);
    });
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => plainServer.listen(0, "127.0.0.1", r));
  tlsPort = (tlsServer.address() as AddressInfo).port;
  plainPort = (plainServer.address() as AddressInfo).port;
});
afterAll(() => {
  tlsServer.close();
  plainServer.close();
});

/** Sends `text` from the guest, ends its side, and resolves with everything the host side answered. */
function sendAndRead(guest: FakeGuest, text: string): Promise<string> {
  return new Promise<string>((resolve) => {
    let reply = "";
    guest.client.on("data", (d: Buffer) => (reply += d.toString()));
    guest.client.on("end", () => {
      resolve(reply);
    });
    guest.client.end(text);
  });
}

/** A stack context on loopback (allow-all) and the interception of `network.tls` = `tls`. */
async function setup(tls: Record<string, unknown>, opened: RelayFlow[], network: NetworkConfig = {}) {
  const tlsConfig = Object.fromEntries(
    Object.entries(tls).filter(([key]) => key !== "plain" && key !== "trustUpstream"),
  );
  const policy = compilePolicy({
    policy: "allow-all",
    ...network,
    tls: { interceptedPorts: [tlsPort, plainPort], ...tlsConfig },
  });
  const ctx = offlineStackContext(policy);
  const counters = newTlsCounters();
  const logged: string[] = [];
  const interception: TlsInterception = {
    relay: upperRelay(opened, tls["plain"] === true),
    counters,
    connectTimeoutMs: 2000,
    log: (_level, message) => logged.push(message),
    tls: policy.tls ?? compileTls({}),
    minter: await LeafMinter.create(interceptCa),
    upstreamTrust: upstreamTrust(tls["trustUpstream"] === false ? [] : [upstreamCa.certPem]),
    helloTimeoutMs: 500,
    handshakeTimeoutMs: 2000,
  };
  const open = (port: number, pieceSize?: number) => {
    const guest = fakeGuest(pieceSize);
    const flow = {
      guestAddress: "10.0.2.15",
      guestPort: 40_000,
      remoteAddress: "127.0.0.1",
      remotePort: port,
    };
    guest.attach(
      connectOutbound(
        ctx,
        { connectTimeoutMs: 2000, readBuffer: Buffer.alloc(65536) },
        flow,
        0x7f000001,
        guest.handle,
        {
          interception,
          relay: interception,
        },
      ),
    );
    return guest;
  };
  return { counters, logged, open };
}

/** A TLS client in the guest: sends `message`, resolves with the reply, the server's certificate and ALPN. */
function guestTls(
  client: ReturnType<typeof fakeGuest>["client"],
  servername: string,
  ca: string,
  message: string,
) {
  return new Promise<{ reply: string; issuer: string; alpn: string | false | null; authorized: boolean }>(
    (resolve, reject) => {
      const socket: TLSSocket = tlsConnect({
        socket: client,
        servername,
        ca,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      let reply = "";
      socket.on("secureConnect", () => {
        socket.end(message);
      });
      socket.on("data", (d: Buffer) => (reply += d.toString()));
      socket.on("end", () => {
        resolve({
          reply,
          issuer: String(socket.getPeerCertificate().issuer.CN),
          alpn: socket.alpnProtocol,
          authorized: socket.authorized,
        });
      });
      socket.on("error", reject);
    },
  );
}

describe("TLS interception (in memory guest, loopback upstream)", () => {
  it("terminates with a minted leaf, re-originates verified, mirrors ALPN, and relays through the session", async () => {
    const opened: RelayFlow[] = [];
    const { counters, open } = await setup({}, opened);
    const guest = open(tlsPort);
    const result = await guestTls(guest.client, "api.example", interceptCa.certPem, "hello");
    expect(result).toMatchObject({ reply: "echo:HELLO", alpn: "http/1.1", authorized: true });
    expect(result.issuer).toMatch(/^microsandbox CA/);
    expect(opened[0]).toMatchObject({
      host: "api.example",
      tls: true,
      upstreamVerified: true,
      alpn: "http/1.1",
    });
    expect(counters.tlsIntercepted).toBe(1);
  });

  it("reads a ClientHello delivered one byte per segment", async () => {
    const { counters, open } = await setup({}, []);
    const guest = open(tlsPort, 1);
    const result = await guestTls(guest.client, "split.example", interceptCa.certPem, "x");
    expect(result.reply).toBe("echo:X");
    expect(counters.tlsIntercepted).toBe(1);
  });

  it("splices a bypassed name untouched: the guest sees the server's own certificate", async () => {
    const opened: RelayFlow[] = [];
    const { counters, open } = await setup({ bypass: ["*.bypassed.example"] }, opened);
    const guest = open(tlsPort);
    const result = await guestTls(guest.client, "x.bypassed.example", upstreamCa.certPem, "raw");
    expect(result.reply).toBe("echo:raw");
    expect(opened).toEqual([]);
    expect(counters).toMatchObject({ tlsBypassed: 1, tlsIntercepted: 0 });
  });

  it("refuses the guest when the upstream certificate does not verify, accepts it with verifyUpstream false", async () => {
    const strict = await setup({ trustUpstream: false }, []);
    const refused = strict.open(tlsPort);
    await expect(guestTls(refused.client, "api.example", interceptCa.certPem, "x")).rejects.toThrow();
    expect(await refused.gone).toBe("reset");
    expect(strict.counters.tlsUpstreamVerifyFailed).toBe(1);
    const opened: RelayFlow[] = [];
    const lax = await setup({ trustUpstream: false, verifyUpstream: false }, opened);
    const result = await guestTls(lax.open(tlsPort).client, "api.example", interceptCa.certPem, "y");
    expect(result.reply).toBe("echo:Y");
    expect(opened[0]?.upstreamVerified).toBe(false);
  });

  it("denies on the server name (domain rules see the SNI)", async () => {
    const { counters, open } = await setup({}, [], {
      rules: [{ action: "deny", destination: ".denied.example" }],
    });
    const guest = open(tlsPort);
    await expect(guestTls(guest.client, "www.denied.example", interceptCa.certPem, "x")).rejects.toThrow();
    expect(await guest.gone).toBe("reset");
    expect(counters.tlsSniDenied).toBe(1);
  });

  it("resets both sides when the session blocks", async () => {
    const { counters, open } = await setup({}, []);
    const guest = open(tlsPort);
    const before = received.length;
    await expect(guestTls(guest.client, "api.example", interceptCa.certPem, "BLOCKME")).rejects.toThrow();
    expect(await guest.gone).toBe("reset");
    expect(counters.relayBlocked).toBe(1);
    expect(received.slice(before).join("")).not.toMatch(/BLOCKME/i);
  });

  it("relays bytes that are not TLS on an intercepted port as plain TCP", async () => {
    const opened: RelayFlow[] = [];
    const { counters, open } = await setup({ plain: true }, opened);
    const guest = open(plainPort);
    const reply = await sendAndRead(guest, "GET / HTTP/1.0\r\n\r\n");
    expect(reply).toBe("plain:GET / HTTP/1.0\r\n\r\n".toUpperCase().replace("PLAIN:", "plain:"));
    expect(counters.tlsNotTls).toBe(1);
    expect(opened[0]).toMatchObject({ tls: false, port: plainPort });
  });
});

describe("plain TCP relay", () => {
  it("hands plain connections the relay wants to its session", async () => {
    const opened: RelayFlow[] = [];
    const { counters, open } = await setup({ plain: true, interceptedPorts: [443] }, opened);
    const guest = open(plainPort);
    const reply = await sendAndRead(guest, "abc");
    expect(reply).toBe("plain:ABC");
    expect(counters.plainRelayed).toBe(1);
    expect(opened[0]).toMatchObject({ tls: false, host: "127.0.0.1", upstreamVerified: false });
  });
});

describe("TLS interception, hostile guests", () => {
  it("opens nothing upstream when the guest resets before its hello is complete", async () => {
    const { counters, open } = await setup({}, []);
    const before = received.length;
    const guest = open(tlsPort);
    guest.client.write(Buffer.from([0x16, 3, 1, 0, 200, 1, 0, 0, 196]));
    await new Promise((r) => setTimeout(r, 50));
    guest.endpoint?.closed("reset");
    await new Promise((r) => setTimeout(r, 700)); // past the hello timeout
    expect(counters).toMatchObject({ tlsIntercepted: 0, tlsNotTls: 0, tlsHandshakeFailed: 0 });
    expect(received.length).toBe(before);
  });

  it("relays a guest that never sends a hello as plain TCP after the timeout (server speaks first)", async () => {
    const { counters, open } = await setup({}, []);
    open(plainPort);
    await new Promise((r) => setTimeout(r, 800));
    expect(counters.tlsNotTls).toBe(1);
  });
});

describe("TLS interception, early refusal", () => {
  it("refuses a SYN at once when the address is denied and no allow rule names a domain", async () => {
    const { open } = await setup({}, [], { policy: "public-only" });
    const guest = open(tlsPort);
    expect(await guest.gone).toBe("refuse");
    expect(guest.events).toEqual(["refuse"]);
  });

  it("waits for the server name when an allow rule names a domain", async () => {
    const { counters, open } = await setup({}, [], {
      policy: "public-only",
      rules: [{ action: "allow", destination: "api.example" }],
    });
    const result = await guestTls(open(tlsPort).client, "api.example", interceptCa.certPem, "ok");
    expect(result.reply).toBe("echo:OK");
    expect(counters.tlsIntercepted).toBe(1);
  });
});
