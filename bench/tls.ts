/**
 * TLS interception, measured on the host (under TCG a guest-side measurement mostly measures the guest's
 * emulated AES). The "guest" is a `node:tls` client in this process, joined in memory to the stack's TLS
 * interception (`interceptTls`, the code a VM's connection goes through), talking to the HTTPS test server of the
 * public test host (45.33.0.80:443 in a network namespace, its own process). The guest's own decryption runs in
 * this process too (in a VM it runs on the vCPU), so the ratio is conservative. Reported:
 * - a 100 MB HTTPS download through interception vs the same download bypassed (spliced, the guest decrypting
 *   the server's TLS itself), alternating in one run: MB/s and the ratio (goal >= 0.7);
 * - new TLS connections per second through interception (handshake both sides, `GET /hello`, close), leaf cache
 *   warm (one name) vs cold (a new name per connection, so a leaf is signed each time; upstream verification
 *   off, since the test server's certificate does not cover those names).
 */
import { connect as tlsConnect } from "node:tls";
import { NameCache } from "../src/net/dns/name-cache.js";
import { DnsResolver } from "../src/net/dns/resolver.js";
import { compilePolicy } from "../src/net/policy/compile.js";
import { DEFAULT_LINK, resolveLink } from "../src/net/stack/addresses.js";
import { StackContext } from "../src/net/stack/context.js";
import { fakeGuest } from "../src/net/stack/fake-guest.fixture.js";
import { connectOutbound } from "../src/net/stack/outbound.js";
import { newTlsCounters } from "../src/net/stack/tls-counters.js";
import type { TlsInterception } from "../src/net/stack/tls-intercept.js";
import { type CaMaterial, generateCa } from "../src/net/tls/ca.js";
import { compileTls } from "../src/net/tls/config.js";
import { LeafMinter } from "../src/net/tls/leaf-minter.js";
import { upstreamTrust } from "../src/net/tls/upstream-trust.js";
import { createTestHosts } from "../test/fixtures/netns/hosts.js";
import { type BenchResult, median, pairedRatio } from "./result.js";

const SIZE = 100 * 1024 * 1024;
const ROUNDS = 3;
const CONNECTIONS = 150;
const SERVER = "45.33.0.80";

interface Stack {
  readonly open: () => ReturnType<typeof fakeGuest>;
  readonly interception: TlsInterception;
}

async function stack(ca: CaMaterial, testCaPem: string, tls: Record<string, unknown>): Promise<Stack> {
  const policy = compilePolicy({ tls });
  const names = new NameCache({ now: () => performance.now() });
  const resolver = new DnsResolver({ servers: [], blockLists: {}, rebindProtection: true, names });
  const ctx = new StackContext({
    link: resolveLink(DEFAULT_LINK),
    policy,
    names,
    resolver,
    send: () => undefined,
  });
  const interception: TlsInterception = {
    relay: undefined,
    counters: newTlsCounters(),
    connectTimeoutMs: 10_000,
    log: () => undefined,
    tls: policy.tls ?? compileTls({}),
    minter: await LeafMinter.create(ca),
    upstreamTrust: upstreamTrust([testCaPem]),
    helloTimeoutMs: 10_000,
    handshakeTimeoutMs: 10_000,
  };
  let port = 40_000;
  const open = () => {
    const guest = fakeGuest();
    const flow = { guestAddress: "10.0.2.15", guestPort: port++, remoteAddress: SERVER, remotePort: 443 };
    const host = { connectTimeoutMs: 10_000, readBuffer: Buffer.alloc(256 * 1024) };
    guest.attach(connectOutbound(ctx, host, flow, 0x2d210050, guest.handle, { interception }));
    return guest;
  };
  return { open, interception };
}

/** One HTTPS request from the in-memory guest; resolves with the bytes received. */
function request(s: Stack, servername: string, ca: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: s.open().client, servername, ca, ALPNProtocols: ["http/1.1"] });
    let bytes = 0;
    socket.on("secureConnect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    socket.on("end", () => {
      socket.end();
      resolve(bytes);
    });
    socket.on("error", reject);
  });
}

async function download(s: Stack, servername: string, ca: string): Promise<number> {
  const t0 = performance.now();
  const bytes = await request(s, servername, ca, `/blob?size=${SIZE}`);
  if (bytes < SIZE) throw new Error(`download through ${servername} got ${bytes} bytes`);
  return SIZE / 1e6 / ((performance.now() - t0) / 1000);
}

async function connectionRate(s: Stack, ca: string, name: (i: number) => string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < CONNECTIONS; i++) await request(s, name(i), ca, "/hello");
  return CONNECTIONS / ((performance.now() - t0) / 1000);
}

/** The `tls` benchmark suite. */
export async function benchTls(): Promise<BenchResult[]> {
  const hosts = await createTestHosts();
  try {
    const ca = await generateCa();
    const testCa = hosts.testCa.caPem;
    const main = await stack(ca, testCa, { bypass: ["bypass.test.example"] });
    const intercepted = [] as number[];
    const bypassed = [] as number[];
    await download(main, "api.test.example", ca.certPem); // warm-up (JIT, first leaf)
    await download(main, "bypass.test.example", testCa);
    for (let i = 0; i < ROUNDS; i++) {
      intercepted.push(await download(main, "api.test.example", ca.certPem));
      bypassed.push(await download(main, "bypass.test.example", testCa));
    }
    const lax = await stack(ca, testCa, { verifyUpstream: false });
    await connectionRate(lax, ca.certPem, () => "api.test.example"); // warm-up
    const warm = await connectionRate(lax, ca.certPem, () => "api.test.example");
    const run = Date.now().toString(36);
    const cold = await connectionRate(lax, ca.certPem, (i) => `n${i}-${run}.cold.test.example`);
    const note =
      "host-side: in-memory guest (node:tls, in this process: its decryption is counted against both) through interceptTls to the netns HTTPS server";
    return [
      {
        name: "tls.download-100MB-intercepted-vs-bypassed",
        value: median(intercepted),
        unit: "MB/s",
        baseline: median(bypassed),
        ratio: pairedRatio(intercepted, bypassed),
        note: `${note}; ${ROUNDS} rounds after 1 warm-up, median; higher is better (goal >= 0.7)`,
      },
      {
        name: "tls.new-connections-cache-warm-vs-cold",
        value: warm,
        unit: "conn/s",
        baseline: cold,
        ratio: warm / cold,
        note: `${note}; ${CONNECTIONS} sequential connections each; cold signs one leaf per connection`,
      },
    ];
  } finally {
    hosts.close();
  }
}
