import {StorageError} from '../../errors/index.ts'
import {type HeldLock, type LockSpace, pollLock} from './lock-space.ts'

/** How long a writer waits for a sweep of the store's content (`sess gc`, `sess doctor`) to end, ms. */
export const CONTENT_LOCK_WAIT = 60_000

/**
 * The store-wide lock on content (`content` in the store's {@link LockSpace}: `content.lock` in
 * the home, or an advisory lock in PostgreSQL), which keeps a sweep for litter from taking content
 * that a write has not yet committed:
 *
 * - a writer holds it **shared** from before it writes a blob or a temp file until the row that
 *   names the blob is committed (or the blob discarded), so many writers go on at once;
 * - a sweep (gc, doctor) holds it **exclusive** while it lists the content and compares it with
 *   the index: then every temp file is litter, and every blob no row names is an orphan.
 *
 * Within one process, concurrent writes share one shared lock (a count), and every wait polls
 * (the event loop never blocks). The lock is released when its process dies.
 */
export class ContentLock {
  readonly #space: LockSpace
  #holders = 0
  #lock: HeldLock | undefined
  #acquiring: Promise<void> | undefined

  constructor(space: LockSpace) {
    this.#space = space
  }

  /**
   * Runs `work` under the shared lock.
   *
   * @throws {StorageError} when a sweep holds the lock for longer than {@link CONTENT_LOCK_WAIT}, or it cannot be taken (see `LockSpace.tryLock`).
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
   * @throws {StorageError} when it cannot be taken (see `LockSpace.tryLock`).
   */
  async exclusive(wait: number): Promise<HeldLock | undefined> {
    return pollLock(this.#space, 'content', {shared: false, wait})
  }

  async #acquireShared(): Promise<void> {
    const lock = await pollLock(this.#space, 'content', {shared: true, wait: CONTENT_LOCK_WAIT})
    if (lock === undefined) {
      throw new StorageError(`The store's content has been locked by a sweep (sess gc or sess doctor) for over ${CONTENT_LOCK_WAIT / 1000} s.`, {
        hint: 'Nothing was written. Retry once the sweep is over; `sess doctor` shows whether one is stuck.',
      })
    }
    this.#lock = lock
  }
}
