import {randomBytes} from 'node:crypto'
import {mkdirSync, renameSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {toStorageError} from '../../persistence/src/blobs/atomic-write.ts'
import type {StoreLayout} from '../../../src/store/home.ts'

/**
 * One quarantine batch: `$SESS_HOME/quarantine/<ms>-<random>/`, made on first use, into which
 * files and directories of the store are moved (renamed, same file system) with their path
 * relative to the home kept, e.g. `quarantine/1763712000000-3fa9c1/blobs/<session id>/<blob>`.
 * gc deletes a batch once it is older than the trash's grace period (its age is read from its
 * name, never from a file time).
 */
export class QuarantineBatch {
  readonly #layout: StoreLayout
  readonly #now: number
  #path: string | undefined

  constructor(layout: StoreLayout, now: number) {
    this.#layout = layout
    this.#now = now
  }

  /** The batch directory, once something was moved into it. */
  get path(): string | undefined {
    return this.#path
  }

  /**
   * Moves `path` (inside the home) into the batch.
   *
   * @returns where it now is. @throws {StorageError} when it cannot be moved.
   */
  move(path: string): string {
    this.#path ??= join(this.#layout.quarantine, `${String(this.#now).padStart(13, '0')}-${randomBytes(4).toString('hex')}`)
    const target = join(this.#path, relative(this.#layout.home, path))
    try {
      mkdirSync(dirname(target), {mode: 0o700, recursive: true})
      renameSync(path, target)
    } catch (error) {
      throw toStorageError(error, `move ${path} into the quarantine`, target)
    }
    return target
  }
}
