/**
 * Secrets on real VMs (python image, curl), over plain HTTP to the public test host (45.33.0.80 in its network
 * namespace; nothing else is contacted): the guest sees only placeholders; with `requireTls: false` the server
 * receives the value in a header and in the body, also when the guest writes one byte at a time; a placeholder
 * bound for a host it is not allowed for, or over plain HTTP when TLS is required, is blocked;
 * `block-and-terminate` stops the sandbox, and a restart gets the values back from the sealed file. Then no
 * value is found in the database, any log, any host process's argv, or the guest's environments and memory.
 *
 * The server answers `/echo?digest=1` with SHA-256 digests, so no value travels back into the guest.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, Secret } from "../../src/index.js";
import { createTestHosts } from "../fixtures/netns/hosts.js";
import type { TestHosts } from "../fixtures/netns/hosts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";
import { bytewiseClient } from "../fixtures/bytewise-client.js";

const env = useSandboxEnv({ python: true });
let hosts: TestHosts | undefined;
beforeAll(async () => {
  hosts = await createTestHosts();
}, 60_000);
afterAll(() => {
  hosts?.close();
});

const HOST = "45.33.0.80";
// Values no test input contains otherwise: found anywhere, they leaked.
const VALUE = "msbtest-value-7f3a9c1e5b2d4680-LONGER-than-the-placeholder";
const TLS_VALUE = "msbtest-tlsonly-19e8d7c6b5a4";
const OTHER_VALUE = "msbtest-other-a1b2c3d4e5f6";
const TERM_VALUE = "msbtest-term-0f1e2d3c4b5a";
const ALL_VALUES = [VALUE, TLS_VALUE, OTHER_VALUE, TERM_VALUE];
const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

interface Echo {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly path: string;
}

/** Runs `script` with sh in `sandbox`; returns stdout, stderr and the code. */
async function sh(sandbox: Sandbox, script: string): Promise<{ out: string; err: string; code: number }> {
  const result = await sandbox.execWithConfig({ cmd: "sh", args: ["-c", script], timeoutMs: 60_000 });
  return { out: result.stdout(), err: result.stderr(), code: result.code };
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

describe("secrets", () => {
  it(
    "substitute toward allowed hosts only, stop the sandbox on block-and-terminate, and never leak",
    async () => {
      const secrets = [
        Secret.env("API_KEY", { value: VALUE, allowHosts: [HOST], requireTls: false }),
        Secret.env("TLS_KEY", { value: TLS_VALUE, allowHosts: [HOST] }),
        Secret.env("OTHER_KEY", {
          value: OTHER_VALUE,
          allowHosts: ["api.elsewhere.test"],
          onViolation: "block-and-log",
        }),
      ];
      await using sandbox = await Sandbox.create({
        name: "secrets",
        image: "python:3.12",
        secrets,
        cmd: ["sh", "-c", 'echo "main:$API_KEY"; exec sleep 3600'],
      });

      // The guest sees placeholders.
      const echoed = await sh(sandbox, 'echo "$API_KEY|$TLS_KEY|$OTHER_KEY"');
      expect(echoed.out).toBe("$MSB_API_KEY|$MSB_TLS_KEY|$MSB_OTHER_KEY\n");
      const mainLog = join(env().home, "sandboxes", "secrets", "logs", "main.log");
      const deadlineMain = Date.now() + 10_000;
      while (!readFileSync(mainLog, "utf8").includes("main:") && Date.now() < deadlineMain) await sleep(200);
      expect(readFileSync(mainLog, "utf8")).toContain("main:$MSB_API_KEY\n");

      // Header and body, over plain HTTP with requireTls: false.
      const curl = await sh(
        sandbox,
        `curl -sS -m 30 -H "Authorization: Bearer $API_KEY" --data-binary "key=$API_KEY&x=1" "http://${HOST}/echo?digest=1"`,
      );
      expect(curl.err).toBe("");
      const echo = JSON.parse(curl.out) as Echo;
      expect(echo.headers["authorization"]).toBe(sha256(`Bearer ${VALUE}`));
      expect(echo.body).toBe(sha256(`key=${VALUE}&x=1`));
      expect(echo.headers["content-length"]).toBe(sha256(String(`key=${VALUE}&x=1`.length)));

      // One byte per write.
      const body = `{"k":"$MSB_API_KEY"}`;
      const request =
        `POST /echo?digest=1 HTTP/1.1\r\nHost: ${HOST}\r\nX-Key: $MSB_API_KEY\r\nConnection: close\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`;
      await sandbox
        .fs()
        .write(
          "/tmp/bytewise.py",
          Buffer.from(bytewiseClient({ host: HOST, port: 80, tls: false }, request)),
        );
      const slow = await sh(sandbox, "python3 /tmp/bytewise.py");
      const slowEcho = JSON.parse(slow.out.slice(slow.out.indexOf("{"))) as Echo;
      expect(slowEcho.headers["x-key"]).toBe(sha256(VALUE));
      expect(slowEcho.body).toBe(sha256(`{"k":"${VALUE}"}`));

      // requireTls (the default) over plain HTTP, and a host the secret is not allowed for: blocked.
      const tls = await sh(sandbox, `curl -sS -m 30 -H "X-Key: $TLS_KEY" "http://${HOST}/echo"`);
      expect(tls.code).not.toBe(0);
      expect(tls.out).toBe("");
      const other = await sh(sandbox, `curl -sS -m 30 -d "$OTHER_KEY" "http://${HOST}/echo"`);
      expect(other.code).not.toBe(0);
      // The sandbox lives on (block, not terminate).
      expect((await sh(sandbox, "echo alive")).out).toBe("alive\n");

      // block-and-terminate stops the sandbox; a restart reads the sealed values back.
      const termSecrets = [
        Secret.env("TERM_KEY", {
          value: TERM_VALUE,
          allowHosts: ["api.elsewhere.test"],
          onViolation: "block-and-terminate",
        }),
        Secret.env("API_KEY", { value: VALUE, allowHosts: [HOST], requireTls: false }),
      ];
      const term = await Sandbox.createDetached({
        name: "secrets-term",
        image: "python:3.12",
        secrets: termSecrets,
      });
      const sealed = join(env().home, "sandboxes", "secrets-term", "secrets.sealed");
      expect(statSync(sealed).mode & 0o777).toBe(0o600);
      await sh(term, `curl -sS -m 10 -H "X-Key: $TERM_KEY" "http://${HOST}/echo"`).catch(() => undefined);
      const deadline = Date.now() + 60_000;
      let handle = await Sandbox.get("secrets-term");
      while (handle.status !== "stopped" && Date.now() < deadline) {
        await sleep(500);
        handle = await Sandbox.get("secrets-term");
      }
      expect(handle.status).toBe("stopped");
      expect(handle.exitReason).toMatch(/secret violation: TERM_KEY/);
      {
        await using again = await Sandbox.start("secrets-term");
        const restarted = await sh(
          again,
          `curl -sS -m 30 -H "X-Key: $API_KEY" "http://${HOST}/echo?digest=1"`,
        );
        expect((JSON.parse(restarted.out) as Echo).headers["x-key"]).toBe(sha256(VALUE));
        await again.stopAndWait();
      }

      // No value anywhere: the guest's environments and process memory (scanned for an encoded needle, so the
      // scanning command itself does not carry the value), the host's argv, the database, every log.
      // The placeholder is the scan's positive control: it must be found (environments and memory).
      const needles = ["$MSB_API_KEY", ...ALL_VALUES].map((v) => Buffer.from(v).toString("base64")).join(",");
      const scan = [
        "import base64, os, re",
        `needles = [base64.b64decode(n) for n in "${needles}".split(",")]`,
        "hits = [set() for n in needles]",
        "me = os.getpid()",
        "scanned = 0",
        "for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != me]:",
        "    try:",
        "        env = open(f'/proc/{pid}/environ', 'rb').read()",
        "        maps = open(f'/proc/{pid}/maps').read().splitlines()",
        "        mem = open(f'/proc/{pid}/mem', 'rb', 0)",
        "    except OSError:",
        "        continue",
        "    for i, n in enumerate(needles):",
        "        if n in env: hits[i].add('environ')",
        "    for line in maps:",
        "        m = re.match(r'([0-9a-f]+)-([0-9a-f]+) r', line)",
        "        if not m or '[vvar]' in line or '[vsyscall]' in line: continue",
        "        start, end = int(m.group(1), 16), int(m.group(2), 16)",
        "        if end - start > 512 * 1024 * 1024: continue",
        "        try:",
        "            mem.seek(start); data = mem.read(end - start)",
        "        except (OSError, ValueError, OverflowError):",
        "            continue",
        "        scanned += len(data)",
        "        for i, n in enumerate(needles):",
        "            if n in data: hits[i].add('memory')",
        "print(scanned > 10 * 1024 * 1024, [sorted(h) for h in hits])",
      ].join("\n");
      await sandbox.fs().write("/tmp/scan.py", Buffer.from(scan));
      const scanned = await sh(sandbox, "python3 /tmp/scan.py");
      expect(scanned.err).toBe("");
      expect(scanned.out).toBe("True [['environ', 'memory'], [], [], [], []]\n");

      const hostHits: string[] = [];
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        let cmdline = "";
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
        } catch (err) {
          if (["ENOENT", "ESRCH", "EACCES"].includes((err as NodeJS.ErrnoException).code ?? "")) continue;
          throw err;
        }
        if (ALL_VALUES.some((v) => cmdline.includes(v))) hostHits.push(`/proc/${pid}/cmdline`);
      }
      // The database (and its WAL), every sandbox file (logs, disk overlays) but the sealed ones, the run dirs.
      const stateFiles = ["db", "sandboxes", "run"].flatMap((dir) => filesUnder(join(env().home, dir)));
      for (const file of stateFiles) {
        if (file.endsWith("secrets.sealed") || statSync(file).size > 256 * 1024 * 1024) continue;
        const data = readFileSync(file);
        if (ALL_VALUES.some((v) => data.includes(v))) hostHits.push(file);
      }
      expect(hostHits).toEqual([]);
      // Positive control: the database files were read, and they hold the redacted config (its placeholders).
      const dbFiles = stateFiles.filter((f) => /msb\.db(-wal)?$/.test(f));
      expect(dbFiles.some((f) => readFileSync(f).includes("$MSB_API_KEY"))).toBe(true);
      expect(stateFiles.some((f) => f.endsWith("supervisor.log"))).toBe(true);
      const supervisorLog = readFileSync(
        join(env().home, "sandboxes", "secrets", "logs", "supervisor.log"),
        "utf8",
      );
      expect(supervisorLog).toMatch(/secret violation blocked.*OTHER_KEY/);
      const handleJson = (await Sandbox.get("secrets")).configJson;
      expect(handleJson).toContain("$MSB_API_KEY");
      expect(ALL_VALUES.some((v) => handleJson.includes(v))).toBe(false);

      await Sandbox.remove("secrets-term");
      expect(() => statSync(sealed)).toThrow(/ENOENT/);
    },
    15 * 60_000,
  );
});
