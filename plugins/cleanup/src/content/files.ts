import {lstatSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {StorageError} from '../../../../src/errors/index.ts'
import {sha256} from '../../../../src/store/blob-store.ts'
import type {StoreLayout} from '../../../../src/store/home.ts'
import {toStorageError} from '../../../persistence/src/blobs/atomic-write.ts'
import {fsyncDirectory} from '../../../../src/os/fsync-directory.ts'
import {readRegularFile} from '../../../persistence/src/blobs/read-file.ts'
import {type ContentScan, type FoundBatch, homeQuarantine, scanHome, treeBytes} from './home-scan.ts'
import {QuarantineBatch} from './quarantine-batch.ts'
import type {ContentSource} from './source.ts'

/**
 * Blobs as files of the home (`blobs/<session id>/<blob>`, see `FileBlobStore`), quarantined by a
 * rename into `quarantine/<ms>-<random>/`. Nothing is ever followed through a symlink.
 */
export class FileContent implements ContentSource {
  readonly #layout: StoreLayout
  readonly #batch: QuarantineBatch

  /** @param now the run's time (ms), which names its quarantine batch. */
  constructor(layout: StoreLayout, now: number) {
    this.#layout = layout
    this.#batch = new QuarantineBatch(layout, now)
  }

  async scan(): Promise<ContentScan> {
    return scanHome(this.#layout, {blobFiles: true})
  }

  async quarantineBatches(): Promise<FoundBatch[]> {
    return homeQuarantine(this.#layout)
  }

  locate(sessionId: string, blob: string): string {
    return join(this.#layout.blobs, sessionId, blob)
  }

  async storedLength(sessionId: string, blob: string): Promise<number | undefined> {
    const stat = lstatSync(this.locate(sessionId, blob), {throwIfNoEntry: false})
    return stat?.isFile() ? stat.size : undefined
  }

  async storedSha256(sessionId: string, blob: string): Promise<string | undefined> {
    const path = this.locate(sessionId, blob)
    try {
      return sha256(readRegularFile(path))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw toStorageError(error, `read ${path}`, path)
    }
  }

  async quarantine(path: string): Promise<boolean> {
    try {
      this.#batch.move(path)
      return true
    } catch (error) {
      if (((error as StorageError).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return false
      throw error
    }
  }

  get quarantined(): string | undefined {
    return this.#batch.path
  }

  /** Removes each session's blob directory (a missing one is fine), then fsyncs `blobs/` once. */
  purgeBlocker(sessionId: string): string | undefined {
    const path = join(this.#layout.blobs, sessionId)
    const stat = lstatSync(path, {throwIfNoEntry: false})
    return stat === undefined || stat.isDirectory() ? undefined : notADirectory(path)
  }

  async deleteSessions(ids: readonly string[]): Promise<Map<string, string>> {
    const left = new Map<string, string>()
    for (const id of ids) {
      const why = deleteBlobDirectory(this.#layout, id)
      if (why !== undefined) left.set(id, why)
    }
    if (left.size < ids.length) {
      try {
        fsyncDirectory(this.#layout.blobs)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw toStorageError(error, `fsync ${this.#layout.blobs}`, this.#layout.blobs)
      }
    }
    return left
  }

  async deleteBatch(path: string): Promise<void> {
    try {
      rmSync(path, {force: true, recursive: true})
      fsyncDirectory(this.#layout.quarantine)
    } catch (error) {
      throw toStorageError(error, `delete ${path}`, path)
    }
  }

  async blobBytes(): Promise<number> {
    return treeBytes(this.#layout.blobs)
  }
}

/**
 * Deletes a session's blob directory (a missing one is fine), never through a symlink.
 *
 * @returns why it could not, or `undefined` when it is gone.
 */
function deleteBlobDirectory(layout: StoreLayout, sessionId: string): string | undefined {
  const path = join(layout.blobs, sessionId)
  const stat = lstatSync(path, {throwIfNoEntry: false})
  if (stat === undefined) return undefined
  if (!stat.isDirectory()) return notADirectory(path)
  try {
    rmSync(path, {force: true, recursive: true})
    return undefined
  } catch (error) {
    return `its content could not be deleted: ${(error as Error).message}`
  }
}

function notADirectory(path: string): string {
  return `its content could not be deleted: ${path} is not a directory (a symlink or file stands in its place; see sess doctor)`
}
