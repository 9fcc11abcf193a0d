/**
 * The guest side of the TLS benchmark, in its own process (as a guest's TLS runs on its own vCPU, not in the
 * supervisor): `node --import tsx tls-guest-client.ts SOCKET SERVERNAME CA_PATH PATH COUNT` makes COUNT sequential
 * HTTPS requests for PATH over connections to the unix socket SOCKET (which the benchmark joins to the stack's
 * guest side), trusting only CA_PATH, and prints one JSON line `{ bytes, ms }` (totals, timed in this process).
 * `{i}` in SERVERNAME is replaced by the request's index (a new name each time: a cold leaf cache).
 */
import { readFileSync } from "node:fs";
import { connect } from "node:tls";

const [socketPath = "", servername = "", caPath = "", path = "/", countText = "1"] = process.argv.slice(2);
const ca = readFileSync(caPath, "utf8");

function request(index: number): Promise<number> {
  const name = servername.replace("{i}", String(index));
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, servername: name, ca, ALPNProtocols: ["http/1.1"] });
    let bytes = 0;
    socket.on("secureConnect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
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

const started = performance.now();
let bytes = 0;
for (let i = 0; i < Number(countText); i++) bytes += await request(i);
process.stdout.write(`${JSON.stringify({ bytes, ms: performance.now() - started })}\n`);
