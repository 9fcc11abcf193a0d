/**
 * The running sandbox's lifecycle inside its supervisor: the one place that moves the stored status from
 * `running` to `draining`, `stopping` and `stopped`, and that decides what a stop does (the stop signal to the
 * main process, its grace period, then the VM's power-off). Every status write is incarnation-bound (by id) and
 * compare-and-set, and a store failure is reported, never thrown into a fire-and-forget path.
 */
import { InvalidStateError } from "../errors.js";
import type { MsbError } from "../errors.js";
import type { SandboxRepository } from "../store/sandbox-repository.js";
import type { SandboxStatus } from "../store/sandbox-status.js";
import type { MainProcess } from "./main-process.js";
import type { StopSpec } from "./spec.js";

/** What the lifecycle drives. */
export interface LifecycleOptions {
  readonly name: string;
  readonly id: string;
  readonly sandboxes: SandboxRepository;
  /** Powers the VM off (the agent stops every process, syncs, unmounts) and resolves when QEMU exited. */
  readonly shutdownVm: () => Promise<void>;
  readonly main: MainProcess | undefined;
  readonly stop: StopSpec;
  /** Relayed operations still open (a drain waits for zero). */
  readonly openStreams: () => number;
  /** Where problems go (the supervisor's log). */
  readonly warn: (message: string) => void;
}

/** How often a drain checks whether the last operation ended. */
const DRAIN_POLL_MS = 50;

type Phase = "running" | "draining" | "stopping";

/** The lifecycle of one running sandbox. */
export class SandboxLifecycle {
  readonly #options: LifecycleOptions;
  #phase: Phase = "running";
  #stopping: Promise<void> | undefined;
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(options: LifecycleOptions) {
    this.#options = options;
  }

  /** True once a stop was asked for (by a client, a signal, the owner's exit or the time limit). */
  get stopRequested(): boolean {
    return this.#stopping !== undefined;
  }

  /** Why a new operation cannot start now (draining or stopping), or undefined when it can. */
  refusal(): MsbError | undefined {
    if (this.#phase === "running") return undefined;
    return new InvalidStateError(
      `sandbox ${this.#options.name} is ${this.#phase}: it takes no new operations`,
      {
        ...(this.#phase === "draining" ? { hint: "operations already running finish; then it stops" } : {}),
      },
    );
  }

  /**
   * Stops the sandbox once, whoever asks: status `stopping`, the stop signal to the main process and up to the
   * grace period for it to exit, then the VM powers off and the status becomes `stopped` with `reason`.
   */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#runStop(reason);
    return this.#stopping;
  }

  /** No new operations; the running ones finish; then the sandbox stops. Resolves once the drain began. */
  drain(): void {
    if (this.#phase !== "running") return;
    this.#phase = "draining";
    this.#record("draining", {}, ["running"]);
    const check = (): void => {
      if (this.#stopping !== undefined) return;
      if (this.#options.openStreams() === 0) void this.stop("drained");
      else this.#drainTimer = setTimeout(check, DRAIN_POLL_MS);
    };
    check();
  }

  async #runStop(reason: string): Promise<void> {
    this.#phase = "stopping";
    clearTimeout(this.#drainTimer);
    this.#record("stopping", {}, ["running", "draining"]);
    const { main, stop } = this.#options;
    if (main !== undefined && !main.hasEnded) {
      main.signal(stop.signal);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        main.ended,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, stop.graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    try {
      await this.#options.shutdownVm();
    } catch (err) {
      this.#options.warn(`the VM did not power off cleanly: ${(err as Error).message}`);
    }
    this.#record("stopped", { exitReason: reason }, ["stopping"]);
  }

  /** A status write that never throws: a store failure is logged (the row is reconciled by readers later). */
  #record(status: SandboxStatus, details: { exitReason?: string }, from: readonly SandboxStatus[]): void {
    try {
      this.#options.sandboxes.setStatus(this.#options.id, status, details, from);
    } catch (err) {
      this.#options.warn(`cannot record status ${status}: ${(err as Error).message}`);
    }
  }
}
