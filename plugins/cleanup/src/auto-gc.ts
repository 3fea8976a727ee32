import {InvalidInputError, LockError} from '../../../src/errors/index.ts'
import type {GcReport} from './gc.ts'
import type {RetentionPolicy} from './policy.ts'

/** Options of `store.startAutoGc()`. */
export interface AutoGcOptions {
  /** Time between the end of one run and the start of the next, ms (at least 1,000). */
  interval: number
  /** The policy; default: the settings file's, read again at each run. */
  policy?: RetentionPolicy
  /** Receives each run's report. */
  onReport?: (report: GcReport) => void
  /** Receives a run's failure (the timer goes on); default: one line on stderr. */
  onError?: (error: unknown) => void
}

/** A running automatic gc (`store.startAutoGc()`). */
export interface AutoGc {
  /** Stops the timer and waits for a run in progress to end. Idempotent; `store.close()` calls it. */
  stop(): Promise<void>
  /** Runs done so far, and runs skipped because another gc (another process) held the store. */
  readonly runs: number
  readonly skipped: number
}

/**
 * Runs `gc(policy)` every `interval` ms, one run at a time: a run starts `interval` ms after the
 * previous one ended, and a run that finds another gc holding the store-wide gc lock (another
 * process) is skipped, not queued. The timer does not keep the process alive.
 *
 * @param gc runs one gc (the store's, bound to it).
 * @param onClose registers the returned handle's `stop` to be awaited when the store closes.
 * @throws {InvalidInputError} for an interval under 1 s.
 */
export function startAutoGc(gc: (policy?: RetentionPolicy) => Promise<GcReport>, options: AutoGcOptions, onClose: (stop: () => Promise<void>) => () => void): AutoGc {
  if (!Number.isSafeInteger(options.interval) || options.interval < 1_000) {
    throw new InvalidInputError(`An automatic gc interval must be a whole number of ms ≥ 1000, not ${options.interval}.`)
  }
  const onError = options.onError ?? ((error: unknown) => process.stderr.write(`sess: warning: automatic gc failed (${error instanceof Error ? error.message : String(error)}); it will run again\n`))
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> | undefined
  let runs = 0
  let skipped = 0
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(tick, options.interval)
    timer.unref?.()
  }
  const tick = () => {
    running = (async () => {
      try {
        const report = await gc(options.policy)
        runs++
        options.onReport?.(report)
      } catch (error) {
        if (error instanceof LockError) skipped++
        else onError(error)
      }
    })().finally(() => {
      running = undefined
      schedule()
    })
  }
  const stop = async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
  const unregister = onClose(stop)
  schedule()
  return {
    get runs() {
      return runs
    },
    get skipped() {
      return skipped
    },
    async stop() {
      unregister()
      await stop()
    },
  }
}
