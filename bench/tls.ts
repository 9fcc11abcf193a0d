/**
 * TLS interception, measured on the host (under TCG a guest-side measurement mostly measures the guest's
 * emulated AES). The "guest" is a `node:tls` client in its own process (`tls-guest-client.ts`: a guest's TLS runs
 * on its own vCPU, not in the supervisor), joined by a unix socket to a guest connection of the stack's TLS
 * interception (`interceptTls`, the code a VM's connection goes through), talking to the HTTPS test server of the
 * public test host (45.33.0.80:443 in a network namespace, its own process). Reported:
 * - a 100 MB HTTPS download through interception vs the same download bypassed (spliced, the guest decrypting
 *   the server's TLS itself), alternating in one run: MB/s and the ratio (goal >= 0.7);
 * - new TLS connections per second through interception (handshake both sides, `GET /hello`, close), leaf cache
 *   warm (one name) vs cold (a new name per connection, so a leaf is signed each time; upstream verification
 *   off, since the test server's certificate does not cover those names).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { compilePolicy } from "../src/net/policy/compile.js";
import { fakeGuest } from "../src/net/stack/fake-guest.fixture.js";
import { offlineStackContext } from "../src/net/stack/harness.fixture.js";
import { connectOutbound } from "../src/net/stack/outbound.js";
import { newTlsCounters } from "../src/net/stack/tls-counters.js";
import type { TlsInterception } from "../src/net/stack/tls-intercept.js";
import { type CaMaterial, generateCa } from "../src/net/tls/ca.js";
import { compileTls } from "../src/net/tls/config.js";
import { LeafMinter } from "../src/net/tls/leaf-minter.js";
import { upstreamTrust } from "../src/net/tls/upstream-trust.js";
import { createTestHosts } from "../test/fixtures/netns/hosts.js";
import { type BenchResult, median, pairedRatio } from "./result.js";

const run = promisify(execFile);
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
  const ctx = offlineStackContext(policy);
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

/** A unix socket whose connections are joined to new guest connections of `s` (the client's bytes are the guest's). */
async function guestSocket(
  s: Stack,
  dir: string,
  name: string,
): Promise<{ path: string; close: () => void }> {
  const path = join(dir, `${name}.sock`);
  const server = createServer((socket) => {
    const guest = s.open();
    socket.pipe(guest.client);
    guest.client.pipe(socket);
    socket.on("error", () => guest.client.destroy());
    guest.client.on("close", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, close: () => server.close() };
}

/** Runs the guest client process; returns its own timing of `count` requests for `path`. */
async function guestRequests(
  socket: string,
  servername: string,
  caPath: string,
  path: string,
  count: number,
): Promise<{ bytes: number; ms: number }> {
  const client = fileURLToPath(new URL("./tls-guest-client.ts", import.meta.url));
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", client, socket, servername, caPath, path, String(count)],
    { timeout: 300_000 },
  );
  return JSON.parse(stdout) as { bytes: number; ms: number };
}

async function download(socket: string, servername: string, caPath: string): Promise<number> {
  const { bytes, ms } = await guestRequests(socket, servername, caPath, `/blob?size=${SIZE}`, 1);
  if (bytes < SIZE) throw new Error(`download through ${servername} got ${bytes} bytes`);
  return SIZE / 1e6 / (ms / 1000);
}

async function connectionRate(socket: string, caPath: string, servername: string): Promise<number> {
  const { ms } = await guestRequests(socket, servername, caPath, "/hello", CONNECTIONS);
  return CONNECTIONS / (ms / 1000);
}

/** The `tls` benchmark suite. */
export async function benchTls(): Promise<BenchResult[]> {
  const hosts = await createTestHosts();
  const dir = mkdtempSync(join(tmpdir(), "msb-bench-tls-"));
  const sockets: { close: () => void }[] = [];
  try {
    const ca = await generateCa();
    const caPath = join(dir, "ca.pem");
    writeFileSync(caPath, ca.certPem);
    const testCaPath = hosts.testCa.caPath;
    const main = await stack(ca, hosts.testCa.caPem, { bypass: ["bypass.test.example"] });
    const mainSocket = await guestSocket(main, dir, "main");
    sockets.push(mainSocket);
    const intercepted = [] as number[];
    const bypassed = [] as number[];
    await download(mainSocket.path, "api.test.example", caPath); // warm-up (JIT, first leaf)
    await download(mainSocket.path, "bypass.test.example", testCaPath);
    for (let i = 0; i < ROUNDS; i++) {
      intercepted.push(await download(mainSocket.path, "api.test.example", caPath));
      bypassed.push(await download(mainSocket.path, "bypass.test.example", testCaPath));
    }
    const lax = await stack(ca, hosts.testCa.caPem, { verifyUpstream: false });
    const laxSocket = await guestSocket(lax, dir, "lax");
    sockets.push(laxSocket);
    await connectionRate(laxSocket.path, caPath, "api.test.example"); // warm-up
    const warm = await connectionRate(laxSocket.path, caPath, "api.test.example");
    const cold = await connectionRate(
      laxSocket.path,
      caPath,
      `n{i}-${Date.now().toString(36)}.cold.test.example`,
    );
    const note =
      "host-side: a node:tls guest in its own process (as a guest's TLS runs on its vCPU), joined by a unix socket to the stack's guest side, through interceptTls to the netns HTTPS server";
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
    for (const socket of sockets) socket.close();
    rmSync(dir, { recursive: true, force: true });
    hosts.close();
  }
}
