/**
 * A minimal QMP (QEMU Machine Protocol) client: connect, negotiate capabilities, run commands. Replies are
 * bounded in size; QMP errors become {@link QmpError}.
 */
import { createConnection } from "node:net";
import type { Socket } from "node:net";

/** Largest single QMP line accepted (QEMU's replies are small; this bounds a misbehaving peer). */
const MAX_LINE = 1024 * 1024;

/** The class of the {@link QmpError} a lost QMP connection fails with. */
export const QMP_DISCONNECTED = "Disconnected";

/** A QMP command failed (`error.class` from QEMU) or the connection broke ({@link QMP_DISCONNECTED}). */
export class QmpError extends Error {
  readonly qmpClass: string;
  constructor(qmpClass: string, message: string) {
    super(message);
    this.name = "QmpError";
    this.qmpClass = qmpClass;
  }
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** A connected QMP session. */
export class QmpClient {
  private readonly socket: Socket;
  private buffer = "";
  private readonly waiters: Waiter[] = [];
  private closed: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.receive(chunk);
    });
    socket.on("error", (err) => {
      this.fail(new QmpError(QMP_DISCONNECTED, err.message));
    });
    socket.on("close", () => {
      this.fail(new QmpError(QMP_DISCONNECTED, "QMP connection closed"));
    });
  }

  /** Connects to a QMP unix socket and enters command mode. */
  static async connect(path: string): Promise<QmpClient> {
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new QmpClient(socket);
    await client.next(); // greeting
    await client.execute("qmp_capabilities");
    return client;
  }

  /** Runs a command and resolves with its `return` value. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) throw this.closed;
    const reply = this.next();
    this.socket.write(
      JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n",
    );
    return reply;
  }

  /** Closes the session. */
  close(): void {
    this.fail(new QmpError(QMP_DISCONNECTED, "QMP connection closed by the host"));
  }

  private next(): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE) {
      this.fail(new QmpError("Protocol", "QMP line too long"));
      return;
    }
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line.length > 0) this.handle(line);
    }
  }

  private handle(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      this.fail(new QmpError("Protocol", `QMP sent invalid JSON: ${(err as Error).message}`));
      return;
    }
    if ("event" in message) return; // asynchronous events are not used yet
    const waiter = this.waiters.shift();
    if (!waiter) return;
    if ("error" in message) {
      const error = message["error"] as { class?: string; desc?: string } | undefined;
      waiter.reject(new QmpError(error?.class ?? "GenericError", error?.desc ?? "QMP command failed"));
    } else {
      waiter.resolve("QMP" in message ? message["QMP"] : message["return"]);
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    this.socket.destroy();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
