import {constants} from 'node:os'

/** The signals a command stops on: ^C, a polite kill, and the terminal going away. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * SIGINT, SIGTERM and SIGHUP as an `AbortSignal`, for as long as it is in scope (`using`): the
 * command stops at a point where nothing is half done, cleans up (its store is closed, which
 * releases its leases) and exits with {@link exitCode}, as the shells report a death by that
 * signal (128 + its number: 130, 143, 129). While one is in scope, the signals do not kill the
 * process (and held leases leave their release to the command: see `releaseOnSignal`).
 *
 * @example
 * ```ts
 * using interrupt = new Interrupt()
 * for (const file of files) {
 *   if (await interrupt.requested()) break
 *   await save(file)
 * }
 * if (interrupt.exitCode !== undefined) return this.exit(interrupt.exitCode)
 * ```
 */
export class Interrupt implements Disposable {
  readonly #controller = new AbortController()
  #by: NodeJS.Signals | undefined
  readonly #listener = (signal: NodeJS.Signals) => {
    this.#by ??= signal
    this.#controller.abort()
  }

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.#listener)
  }

  /** Aborted at the first of the signals. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** The first signal received, if any. */
  get by(): NodeJS.Signals | undefined {
    return this.#by
  }

  /**
   * Whether a signal came, once the event loop has run: a signal is delivered as an event-loop
   * task, which a run of work that only awaits settled promises (bun:sqlite is synchronous) would
   * never let through. Call it at each point where the command may stop.
   */
  async requested(): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve))
    return this.signal.aborted
  }

  /** 128 + the number of the first signal received (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP); `undefined` when none came. */
  get exitCode(): number | undefined {
    return this.#by === undefined ? undefined : 128 + constants.signals[this.#by]
  }

  /** Stops listening: the signals have their default action again. */
  [Symbol.dispose](): void {
    for (const signal of SIGNALS) process.off(signal, this.#listener)
  }
}
