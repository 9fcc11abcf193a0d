import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as errors from "./errors.js";
import {
  AgentError,
  CommandNotFoundError,
  ExecTimeoutError,
  ImageDigestError,
  ImageInUseError,
  ImageNotFoundError,
  ImagePullError,
  ImageReferenceError,
  InvalidConfigError,
  InvalidStateError,
  MSB_ERROR_CODES,
  MsbError,
  NetworkError,
  OutputLimitError,
  PacketError,
  PortInUseError,
  ProtocolError,
  RegistryAuthError,
  RootfsBuildError,
  RuntimeNotInstalledError,
  SandboxCrashedError,
  SandboxExistsError,
  SandboxStillRunningError,
  SandboxNotFoundError,
  SetupError,
  StoreError,
  StreamLimitError,
  FsError,
  PatchFailedError,
  PrivilegeRequiredError,
  UnsupportedError,
  VmError,
} from "./errors.js";
import {
  type MsbErrorClass,
  WIRE_ERROR_LIMITS,
  type WireError,
  fromWireError,
  toWireError,
  wireErrorClass,
} from "./wire-error.js";

/** Through JSON, as between two processes. */
function roundTrip(err: unknown): errors.MsbError {
  return fromWireError(JSON.parse(JSON.stringify(toWireError(err))));
}

/** `value` as an instance of `cls`, failing the test when it is not one. */
function as<E extends MsbError>(value: MsbError, cls: MsbErrorClass<E>): E {
  if (!(value instanceof cls)) throw new Error(`${value.name} is not a ${cls.name}`);
  return value;
}

/** One representative instance of every MsbError subclass, with its own fields. */
const samples: readonly (readonly [string, errors.MsbError, Readonly<Record<string, unknown>>])[] = [
  ["InvalidConfigError", new InvalidConfigError("exec.argv", "must not be empty"), { field: "exec.argv" }],
  ["RuntimeNotInstalledError", new RuntimeNotInstalledError("qemu-system-x86_64 is missing"), {}],
  ["SetupError", new SetupError("apt-get failed"), {}],
  [
    "VmError",
    new VmError("MSB_ERR_VM_BOOT_TIMEOUT", "the agent did not answer", { consoleLog: "/run/x/console.log" }),
    { consoleLog: "/run/x/console.log" },
  ],
  ["VmError (no log)", new VmError("MSB_ERR_VM_EXITED", "qemu exited"), { consoleLog: undefined }],
  ["VmError (start)", new VmError("MSB_ERR_VM_START", "qemu failed", { hint: "see stderr" }), {}],
  ["ProtocolError", new ProtocolError("bad frame"), {}],
  [
    "ProtocolError (version)",
    new ProtocolError("no shared version", { code: "MSB_ERR_PROTOCOL_VERSION" }),
    {},
  ],
  ["AgentError", new AgentError("EACCES", "permission denied"), { agentCode: "EACCES" }],
  ["CommandNotFoundError", new CommandNotFoundError("pyhton", "pyhton: not found"), { command: "pyhton" }],
  ["InvalidStateError", new InvalidStateError("the sandbox is stopped"), {}],
  ["OutputLimitError", new OutputLimitError(1024), {}],
  ["PacketError", new PacketError("payload too large"), {}],
  ["ImageReferenceError", new ImageReferenceError("UPPER:case", "bad name"), { reference: "UPPER:case" }],
  [
    "ImageNotFoundError",
    new ImageNotFoundError("docker.io/library/nope:1", "manifest unknown"),
    { reference: "docker.io/library/nope:1" },
  ],
  [
    "ImageInUseError",
    new ImageInUseError("alpine", ["sandbox:web", "sandbox:db"]),
    { reference: "alpine", holders: ["sandbox:web", "sandbox:db"] },
  ],
  ["ImagePullError", new ImagePullError("alpine", "ECONNRESET"), { reference: "alpine" }],
  [
    "ImageDigestError",
    new ImageDigestError("layer digest mismatch", { expected: "sha256:aa", actual: "sha256:bb" }),
    { expected: "sha256:aa", actual: "sha256:bb" },
  ],
  [
    "ImageDigestError (no actual)",
    new ImageDigestError("malformed digest", { expected: "sha256:zz" }),
    { expected: "sha256:zz", actual: undefined },
  ],
  ["RegistryAuthError", new RegistryAuthError("ghcr.io", "401 Unauthorized"), { registry: "ghcr.io" }],
  ["RootfsBuildError", new RootfsBuildError("mke2fs failed"), {}],
  ["StoreError", new StoreError("database is locked"), {}],
  ["SandboxNotFoundError", new SandboxNotFoundError("web"), { sandbox: "web" }],
  ["SandboxExistsError", new SandboxExistsError("web"), { sandbox: "web" }],
  [
    "SandboxStillRunningError",
    new SandboxStillRunningError("web", "running"),
    { sandbox: "web", status: "running" },
  ],
  ["SandboxCrashedError", new SandboxCrashedError("web", "qemu was killed"), { sandbox: "web" }],
  [
    "ExecTimeoutError",
    new ExecTimeoutError(500, { stdout: Buffer.from("partial\n"), stderr: Buffer.from([0, 255, 128, 7]) }),
    { timeoutMs: 500, stdout: Buffer.from("partial\n"), stderr: Buffer.from([0, 255, 128, 7]) },
  ],
  ["NetworkError", new NetworkError("cannot listen on net.sock"), {}],
  ["PortInUseError", new PortInUseError("127.0.0.1", 8080, "udp"), { port: 8080, protocol: "udp" }],
  ["UnsupportedError", new UnsupportedError("exec.tty"), { feature: "exec.tty" }],
  ["StreamLimitError", new StreamLimitError(64), { limit: 64 }],
  ["FsError", new FsError("ENOENT", "/etc/nope", "no such file"), { errno: "ENOENT", path: "/etc/nope" }],
  ["VolumeNotFoundError", new errors.VolumeNotFoundError("cache"), { volume: "cache" }],
  ["VolumeAlreadyExistsError", new errors.VolumeAlreadyExistsError("cache"), { volume: "cache" }],
  [
    "VolumeInUseError",
    new errors.VolumeInUseError("cache", ["web", "db"], "is used by sandboxes"),
    { volume: "cache", holders: ["web", "db"] },
  ],
  [
    "PatchFailedError",
    new PatchFailedError(3, "text", "/etc/motd", "/etc/motd already exists"),
    { index: 3, kind: "text", path: "/etc/motd" },
  ],
  [
    "PrivilegeRequiredError",
    new PrivilegeRequiredError("root (CAP_SYS_ADMIN)", "virtiofsd"),
    { privilege: "root (CAP_SYS_ADMIN)" },
  ],
];

describe("toWireError / fromWireError round trip", () => {
  it.each(samples)("%s keeps its class, code, message, hint and fields", (_label, original, fields) => {
    const revived = roundTrip(original);
    expect(revived).toBeInstanceOf(original.constructor);
    expect(revived).toBeInstanceOf(MsbError);
    expect(revived).toBeInstanceOf(Error);
    expect(Object.getPrototypeOf(revived)).toBe(Object.getPrototypeOf(original));
    expect(revived.name).toBe(original.name);
    expect(revived.code).toBe(original.code);
    expect(revived.message).toBe(original.message);
    expect(revived.hint).toBe(original.hint);
    for (const [key, value] of Object.entries(fields)) {
      expect(Object.hasOwn(revived, key), key).toBe(true);
      expect((revived as unknown as Record<string, unknown>)[key], key).toEqual(value);
    }
    expect(Object.keys(revived).sort()).toEqual(Object.keys(original).sort());
    expect(String(revived.stack)).toContain(`${original.name}: ${original.message}`);
  });

  it("has a sample of every MsbError subclass exported by errors.ts", () => {
    const classes = Object.values(errors).filter(
      (value): value is typeof MsbError =>
        typeof value === "function" && value.prototype instanceof Error && value !== MsbError,
    );
    const sampled = new Set(samples.map(([, sample]) => sample.constructor));
    expect(classes.length).toBeGreaterThan(25);
    for (const cls of classes) expect(sampled.has(cls), cls.name).toBe(true);
  });

  it("keeps the typed fields usable", () => {
    const revived = as(roundTrip(new PortInUseError("0.0.0.0", 5432, "tcp")), PortInUseError);
    expect(typeof revived.port).toBe("number");
    expect(revived.port).toBe(5432);
    expect(revived.protocol).toBe("tcp");
    const timeout = roundTrip(
      new ExecTimeoutError(10, { stdout: Buffer.from("a"), stderr: Buffer.alloc(0) }),
    );
    if (!(timeout instanceof ExecTimeoutError)) throw new Error("not an ExecTimeoutError");
    expect(Buffer.isBuffer(timeout.stdout)).toBe(true);
    expect(timeout.stdout.equals(Buffer.from("a"))).toBe(true);
    expect(timeout.stderr.length).toBe(0);
  });

  it("sends the bare message and the hint apart, Buffers as base64", () => {
    const wire = toWireError(new PortInUseError("127.0.0.1", 80, "tcp"));
    expect(wire).toEqual({
      code: "MSB_ERR_PORT_IN_USE",
      name: "PortInUseError",
      message: "cannot publish tcp port 127.0.0.1:80: already in use",
      hint: "choose another host port in `ports`, or stop what is listening on it",
      fields: { port: 80, protocol: "tcp" },
    });
    const timeout = toWireError(
      new ExecTimeoutError(1, { stdout: Buffer.from("hi"), stderr: Buffer.alloc(0) }),
    );
    expect(timeout.fields).toEqual({ timeoutMs: 1, stdout: { base64: "aGk=" }, stderr: { base64: "" } });
  });

  it("does not send cause", () => {
    const err = new PortInUseError("127.0.0.1", 80, "tcp", { cause: new Error("EADDRINUSE") });
    expect(roundTrip(err).cause).toBeUndefined();
  });
});

describe("non-MsbErrors", () => {
  it("are sent under the fallback code, named as its class, with the original error's name", () => {
    const wire = toWireError(new TypeError("x is undefined"), "MSB_ERR_VM_START");
    expect(wire).toEqual({ code: "MSB_ERR_VM_START", name: "VmError", message: "TypeError: x is undefined" });
    const revived = fromWireError(wire);
    expect(revived).toBeInstanceOf(VmError);
    expect(revived.message).toBe("TypeError: x is undefined");
    expect(as(revived, VmError).consoleLog).toBeUndefined();
  });

  it("default to MSB_ERR_PROTOCOL", () => {
    const revived = roundTrip(new Error("boom"));
    expect(revived).toBeInstanceOf(ProtocolError);
    expect(revived.message).toBe("boom");
    expect(roundTrip("a string").message).toBe("a string");
    expect(roundTrip({ odd: 1 }).message).toContain("odd");
  });
});

describe("fromWireError", () => {
  it("revives an unknown code (a newer peer) as a plain MsbError with that code and its fields", () => {
    const revived = fromWireError({
      code: "MSB_ERR_FROM_THE_FUTURE",
      name: "FutureError",
      message: "something new",
      hint: "upgrade",
      fields: { level: 3, blob: { base64: "AAE=" } },
    });
    expect(revived).toBeInstanceOf(MsbError);
    expect(Object.getPrototypeOf(revived)).toBe(MsbError.prototype);
    expect(revived.code).toBe("MSB_ERR_FROM_THE_FUTURE");
    expect(revived.name).toBe("FutureError");
    expect(revived.message).toBe("something new (upgrade)");
    expect(revived.hint).toBe("upgrade");
    expect((revived as unknown as { level: number }).level).toBe(3);
    expect((revived as unknown as { blob: Buffer }).blob.equals(Buffer.from([0, 1]))).toBe(true);
  });

  it("appends extraHint to the hint and the message, keeping class and fields", () => {
    const wire = toWireError(new PortInUseError("127.0.0.1", 80, "tcp"));
    const revived = fromWireError(wire, { extraHint: "see /x/supervisor.log" });
    expect(revived).toBeInstanceOf(PortInUseError);
    expect(as(revived, PortInUseError).port).toBe(80);
    expect(revived.hint).toBe(`${wire.hint}; see /x/supervisor.log`);
    expect(revived.message).toBe(`${wire.message} (${wire.hint}; see /x/supervisor.log)`);
    const bare = fromWireError(
      { code: "MSB_ERR_STORE", name: "StoreError", message: "m" },
      { extraHint: "h" },
    );
    expect(bare.message).toBe("m (h)");
  });

  it("keeps fields a newer peer added to a known class", () => {
    const wire = { ...toWireError(new StreamLimitError(4)), fields: { limit: 4, open: 4 } };
    const revived = fromWireError(wire);
    expect(revived).toBeInstanceOf(StreamLimitError);
    expect((revived as unknown as { open: number }).open).toBe(4);
  });

  const valid: WireError = { code: "MSB_ERR_STORE", name: "StoreError", message: "m" };
  const big = "x".repeat(WIRE_ERROR_LIMITS.text + 1);
  const manyFields = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, i]));
  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "MSB_ERR_STORE"],
    ["an array", [valid]],
    ["no code", { name: "X", message: "m" }],
    ["a numeric code", { ...valid, code: 7 }],
    ["a code that is not MSB_ERR_", { ...valid, code: "EACCES" }],
    ["no message", { code: "MSB_ERR_STORE", name: "StoreError" }],
    ["no name", { code: "MSB_ERR_STORE", message: "m" }],
    ["a huge message", { ...valid, message: big }],
    ["a huge hint", { ...valid, hint: big }],
    ["a numeric hint", { ...valid, hint: 1 }],
    ["fields not an object", { ...valid, fields: [1] }],
    ["too many fields", { ...valid, fields: manyFields }],
    ["a reserved field", { ...valid, fields: { message: "x" } }],
    [
      "a __proto__ field",
      JSON.parse('{"code":"MSB_ERR_STORE","name":"S","message":"m","fields":{"__proto__":1}}'),
    ],
    ["an inherited field name", { ...valid, fields: { toString: "x" } }],
    ["a nested object field", { ...valid, fields: { x: { a: 1 } } }],
    ["an array of numbers", { ...valid, fields: { x: [1, 2] } }],
    ["a huge array", { ...valid, fields: { x: Array.from({ length: 257 }, () => "a") } }],
    ["bad base64", { ...valid, fields: { x: { base64: "not base64!" } } }],
    ["base64 with extra keys", { ...valid, fields: { x: { base64: "", more: 1 } } }],
    [
      "a port that is a string",
      { code: "MSB_ERR_PORT_IN_USE", name: "P", message: "m", fields: { port: "80", protocol: "tcp" } },
    ],
    [
      "a bad protocol",
      { code: "MSB_ERR_PORT_IN_USE", name: "P", message: "m", fields: { port: 80, protocol: "sctp" } },
    ],
    ["a missing required field", { code: "MSB_ERR_INVALID_CONFIG", name: "I", message: "m" }],
    [
      "a null optional field",
      { code: "MSB_ERR_VM_EXITED", name: "V", message: "m", fields: { consoleLog: null } },
    ],
    [
      "a buffer that is a string",
      {
        code: "MSB_ERR_EXEC_TIMEOUT",
        name: "E",
        message: "m",
        fields: { timeoutMs: 1, stdout: "a", stderr: "b" },
      },
    ],
  ])("turns %s into a ProtocolError", (_label, value) => {
    const revived = fromWireError(value);
    expect(revived).toBeInstanceOf(ProtocolError);
    expect(revived.code).toBe("MSB_ERR_PROTOCOL");
    expect(revived.message).toMatch(/^malformed error report from the peer process: /);
  });

  it("rejects an oversized Buffer before decoding it", () => {
    const base64 = "A".repeat((Math.ceil(WIRE_ERROR_LIMITS.bufferBytes / 3) + 1) * 4);
    const revived = fromWireError({ ...valid, fields: { x: { base64 } } });
    expect(revived).toBeInstanceOf(ProtocolError);
    expect(revived.message).toContain("larger than");
  });

  it("accepts what toWireError sends, even from oversized errors (it clips them)", () => {
    const err = new InvalidConfigError("f".repeat(20_000), big);
    const revived = roundTrip(err);
    expect(revived).toBeInstanceOf(InvalidConfigError);
    expect(revived.message.length).toBeLessThanOrEqual(WIRE_ERROR_LIMITS.text);
    expect(as(revived, InvalidConfigError).field.length).toBe(WIRE_ERROR_LIMITS.text);
  });
});

describe("the registry", () => {
  it("maps every code to a class whose instances carry it", () => {
    for (const code of MSB_ERROR_CODES) {
      const cls = wireErrorClass(code);
      expect(cls, code).not.toBe(MsbError);
      const sample = samples.find(([, err]) => err.code === code);
      expect(sample, `a sample with code ${code}`).toBeDefined();
      expect(sample?.[1]).toBeInstanceOf(cls);
    }
    expect(wireErrorClass("MSB_ERR_VM_EXITED")).toBe(VmError);
    expect(wireErrorClass("MSB_ERR_PROTOCOL_VERSION")).toBe(ProtocolError);
    expect(wireErrorClass("MSB_ERR_UNKNOWN")).toBe(MsbError);
    expect(wireErrorClass("constructor")).toBe(MsbError);
  });

  it("lists the same codes as docs/errors.md", () => {
    const docs = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
    const documented = [...docs.matchAll(/^\| `(MSB_ERR_[A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect([...documented].sort()).toEqual([...MSB_ERROR_CODES].sort());
  });
});
