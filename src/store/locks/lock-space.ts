import {pause} from '../../lock/contention.ts'

/**
 * The store-wide locks: `content` (shared by writers of content, exclusive by a sweep; see
 * `ContentLock`) and `gc` (held by a `sess gc` or `sess doctor --fix` run, so that two never
 * overlap).
 */
export type StoreLockName = 'content' | 'gc'

/** A store-wide lock held; `release` (or disposal) lets it go. Idempotent. */
export interface HeldLock extends Disposable {
  release(): void
}

/**
 * Where a store's store-wide locks live, chosen once by `openStore`: flock(2) files in the home
 * (`FileLockSpace`, SQLite) or session-level advisory locks in the database (`AdvisoryLockSpace`,
 * PostgreSQL, so that every machine sharing the store sees them). Either way a lock held by a
 * process that dies is released (by the kernel, or by the server when the connection drops), and
 * two holders in one process conflict as two processes do.
 */
export interface LockSpace {
  /**
   * Tries once to take `name`, shared or exclusive, without waiting.
   *
   * @returns the lock, or `undefined` when a conflicting holder (in this process or another) has it.
   * @throws {StorageError} when the lock cannot be taken for another reason (lock file, connection).
   */
  tryLock(name: StoreLockName, mode: {shared: boolean}): Promise<HeldLock | undefined>
  /** Lets every lock of this space go and releases what it holds (connection). Idempotent. */
  close(): Promise<void>
}

/**
 * Takes `name` in `space` without blocking the event loop: tries, then polls with backoff (see
 * `pause`) for up to `wait` ms.
 *
 * @returns the lock, or `undefined` when it was still held elsewhere after `wait` ms.
 * @throws {StorageError} when the lock cannot be taken for another reason (see {@link LockSpace.tryLock}).
 */
export async function pollLock(space: LockSpace, name: StoreLockName, options: {shared: boolean; wait: number}): Promise<HeldLock | undefined> {
  const deadline = Date.now() + options.wait
  for (let attempt = 0; ; attempt++) {
    const lock = await space.tryLock(name, {shared: options.shared})
    if (lock !== undefined || Date.now() >= deadline) return lock
    await pause(attempt, deadline - Date.now())
  }
}
