/**
 * The supervisor's own log: JSON lines, one object per event, `{"time", "level", "msg", "fields"?}`, written to
 * a {@link RotatingWriter}. Events below the configured level are dropped. A failing write (disk full) never
 * throws into the caller: logging must not take the sandbox down; the number of lost events is kept.
 */

/** Severity levels, lowest first (the seed's `LogLevel` values). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type Level = (typeof LOG_LEVELS)[number];

/** Whether `value` is a {@link Level}. */
export function isLevel(value: unknown): value is Level {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** One event as written. */
export interface LogEvent {
  /** ISO 8601 time, UTC, millisecond precision. */
  readonly time: string;
  readonly level: Level;
  readonly msg: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** Where lines go (a {@link RotatingWriter}). */
export interface LineSink {
  write(line: string): void;
}

/** Options of {@link JsonLogger}. */
export interface JsonLoggerOptions {
  /** Events below this level are dropped. Default `info`. */
  readonly level?: Level;
  /** Clock (tests). Default `Date.now`. */
  readonly now?: () => number;
  /** Also called with each event that passed the level filter (after it is written). */
  readonly onEvent?: (event: LogEvent) => void;
}

function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** The JSON-lines logger described in the module comment. */
export class JsonLogger {
  readonly level: Level;
  readonly #sink: LineSink;
  readonly #min: number;
  readonly #now: () => number;
  readonly #onEvent: ((event: LogEvent) => void) | undefined;
  #lost = 0;

  constructor(sink: LineSink, options: JsonLoggerOptions = {}) {
    this.#sink = sink;
    this.level = options.level ?? "info";
    this.#min = LOG_LEVELS.indexOf(this.level);
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent;
  }

  /** Events that could not be written. */
  get lost(): number {
    return this.#lost;
  }

  /** Whether events of `level` are written. */
  enabled(level: Level): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** Writes one event (if its level passes the filter). */
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    if (!this.enabled(level)) return;
    const event: LogEvent = {
      time: new Date(this.#now()).toISOString(),
      level,
      msg,
      ...(fields && Object.keys(fields).length > 0 ? { fields } : {}),
    };
    try {
      this.#sink.write(JSON.stringify(event, jsonValue) + "\n");
    } catch (err) {
      // Disk full or the log closed: the event is lost, the sandbox goes on. Counted, not thrown.
      if (err instanceof Error) this.#lost++;
      else throw err;
    }
    this.#onEvent?.(event);
  }

  /** {@link log} at `trace`. */
  trace(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log("trace", msg, fields);
  }
  /** {@link log} at `debug`. */
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log("debug", msg, fields);
  }
  /** {@link log} at `info`. */
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log("info", msg, fields);
  }
  /** {@link log} at `warn`. */
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log("warn", msg, fields);
  }
  /** {@link log} at `error`. */
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.log("error", msg, fields);
  }
}
