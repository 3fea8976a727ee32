import {StorageError} from '../errors/index.ts'
import {pause} from '../lock/contention.ts'
import {type FileLock, lockFile} from '../os/flock.ts'

/** How long a writer waits for a sweep of the store's content (`sess gc`, `sess doctor`) to end, ms. */
export const CONTENT_LOCK_WAIT = 60_000

/**
 * The store-wide lock on content files (`$SESS_HOME/content.lock`, flock(2)), which keeps a sweep
 * for litter from taking a file that a write has not yet committed:
 *
 * - a writer holds it **shared** from before it writes a blob or a temp file until the row that
 *   names the blob is committed (or the blob discarded), so many writers go on at once;
 * - a sweep (gc, doctor) holds it **exclusive** while it lists the files and compares them with
 *   the index: then every temp file is litter, and every blob no row names is an orphan.
 *
 * Within one process, concurrent writes share one shared lock (a count), and every wait polls
 * (the event loop never blocks in flock). The kernel drops the lock when its process dies.
 */
export class ContentLock {
  readonly #path: string
  #holders = 0
  #lock: FileLock | undefined
  #acquiring: Promise<void> | undefined

  /** @param path the lock file; created 0600 when first taken. */
  constructor(path: string) {
    this.#path = path
  }

  /**
   * Runs `work` under the shared lock.
   *
   * @throws {StorageError} when a sweep holds the lock for longer than {@link CONTENT_LOCK_WAIT}, or the file cannot be locked.
   */
  async shared<T>(work: () => Promise<T>): Promise<T> {
    this.#holders++
    try {
      if (this.#lock === undefined) {
        this.#acquiring ??= this.#acquireShared().finally(() => {
          this.#acquiring = undefined
        })
        await this.#acquiring
      }
      return await work()
    } finally {
      if (--this.#holders === 0) {
        this.#lock?.release()
        this.#lock = undefined
      }
    }
  }

  /**
   * Takes the exclusive lock, waiting (polling) up to `wait` ms for writers to finish.
   *
   * @returns the lock, or `undefined` when writers still held it after `wait` ms.
   */
  async exclusive(wait: number): Promise<FileLock | undefined> {
    return pollFileLock(this.#path, {shared: false, wait})
  }

  async #acquireShared(): Promise<void> {
    const lock = await pollFileLock(this.#path, {shared: true, wait: CONTENT_LOCK_WAIT})
    if (lock === undefined) {
      throw new StorageError(`The store's content has been locked by a sweep (sess gc or sess doctor) for over ${CONTENT_LOCK_WAIT / 1000} s.`, {
        hint: 'Nothing was written. Retry once the sweep is over; `sess doctor` shows whether one is stuck.',
      })
    }
    this.#lock = lock
  }
}

/**
 * Takes a flock(2) on `path` without blocking the event loop: tries, then polls with backoff
 * (see `pause`) for up to `wait` ms.
 *
 * @returns the lock, or `undefined` when it was still held elsewhere after `wait` ms.
 * @throws {StorageError} when the file cannot be opened or locked for another reason.
 */
export async function pollFileLock(path: string, options: {shared: boolean; wait: number}): Promise<FileLock | undefined> {
  const deadline = Date.now() + options.wait
  for (let attempt = 0; ; attempt++) {
    const lock = lockFile(path, {shared: options.shared, wait: false})
    if (lock !== undefined || Date.now() >= deadline) return lock
    await pause(attempt, deadline - Date.now())
  }
}
