import {randomBytes} from 'node:crypto'
import {lstatSync, mkdirSync, renameSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {toStorageError} from '../../../persistence/src/blobs/atomic-write.ts'
import {StorageError} from '../../../../src/errors/index.ts'
import type {StoreLayout} from '../../../../src/store/home.ts'

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
   * Moves `path` (inside the home) into the batch. The quarantine and the batch are created as
   * real directories (0700) and checked to be ones, so nothing is ever moved through a symlink
   * planted in their place, out of the store.
   *
   * @returns where it now is.
   * @throws {StorageError} when it cannot be moved, or a symlink or file stands in place of the quarantine.
   */
  move(path: string): string {
    this.#path ??= join(this.#layout.quarantine, `${String(this.#now).padStart(13, '0')}-${randomBytes(4).toString('hex')}`)
    const target = join(this.#path, relative(this.#layout.home, path))
    try {
      realDirectory(this.#layout.quarantine)
      realDirectory(this.#path)
      mkdirSync(dirname(target), {mode: 0o700, recursive: true}) // below the batch, which is real and new
      renameSync(path, target)
    } catch (error) {
      throw toStorageError(error, `move ${path} into the quarantine`, target)
    }
    return target
  }
}

/**
 * Creates `directory` (0700) unless it exists, and checks that it is a real directory.
 *
 * @throws {StorageError} when a symlink or anything but a directory stands there; what `mkdir` threw otherwise.
 */
function realDirectory(directory: string): void {
  try {
    mkdirSync(directory, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const stat = lstatSync(directory)
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new StorageError(`${directory} is not a directory (a symlink or file stands in its place); nothing is moved through it.`, {
      hint: '`sess doctor --fix` removes a symlink there (what it points to is left alone); move anything else away.',
    })
  }
}
