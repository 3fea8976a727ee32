import {closeSync, constants, openSync} from 'node:fs'
import {StorageError} from '../../errors/index.ts'
import {type FileLock, lockFile} from '../../os/flock.ts'
import type {StoreLayout} from '../home.ts'
import type {HeldLock, LockSpace, StoreLockName} from './lock-space.ts'

/**
 * The store-wide locks of a store on one machine: flock(2) on `content.lock` and `gc.lock` in the
 * home (see `lockFile`). Each lock taken opens the file anew, so two holders in one process
 * conflict as two processes do; the kernel drops a lock when its process dies.
 */
export class FileLockSpace implements LockSpace {
  readonly #paths: Record<StoreLockName, string>
  readonly #held = new Set<FileLock>()

  /**
   * Creates `content.lock` (0600, never through a symlink) if missing, so that a sweep taking it
   * later creates no file.
   *
   * @throws {StorageError} when it cannot be created.
   */
  constructor(layout: Pick<StoreLayout, 'contentLock' | 'gcLock'>) {
    this.#paths = {content: layout.contentLock, gc: layout.gcLock}
    ensureFile(layout.contentLock)
  }

  async tryLock(name: StoreLockName, mode: {shared: boolean}): Promise<HeldLock | undefined> {
    const lock = lockFile(this.#paths[name], {shared: mode.shared, wait: false})
    if (lock === undefined) return undefined
    this.#held.add(lock)
    const release = () => {
      this.#held.delete(lock)
      lock.release()
    }
    return {release, [Symbol.dispose]: release}
  }

  /** Releases the locks still held (closes their files). */
  async close(): Promise<void> {
    for (const lock of this.#held) lock.release()
    this.#held.clear()
  }
}

function ensureFile(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new StorageError(`Cannot open ${path} for writing: ${(error as Error).message}`, {
      cause: error,
      hint:
        code === 'ELOOP'
          ? 'A symlink stands in its place; sess never follows symlinks in its store. Move it away.'
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? 'The store is read-only to you: make its files writable again (chmod u+w), or pass --home to another store.'
            : 'Check the store directory and its files.',
    })
  }
}
