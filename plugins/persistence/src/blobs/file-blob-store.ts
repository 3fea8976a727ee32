import {lstatSync, mkdirSync, rmdirSync, rmSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {ulid} from 'ulid'
import {StorageError} from '../../../../src/errors/index.ts'
import {isSessionId} from '../../../../src/session/names.ts'
import {type BlobRef, type BlobStore, sha256} from '../../../../src/store/blob-store.ts'
import {fsyncDirectory} from '../../../../src/os/fsync-directory.ts'
import {toStorageError, writeFileAtomic} from './atomic-write.ts'
import {checkedContent, DAMAGED_HINT} from './integrity.ts'
import {readRegularFile} from './read-file.ts'

/**
 * Blobs as files: `<root>/<session id>/<blob id>`, directories 0700, files 0600, each written with
 * {@link writeFileAtomic}. Paths are built only from ULIDs sess generated, never from names, and no
 * symlink is followed (`O_NOFOLLOW`, and every directory is checked with `lstat`).
 */
export class FileBlobStore implements BlobStore {
  readonly #root: string

  /** @param root the blob directory (`$SESS_HOME/blobs`); created 0700 if missing. */
  constructor(root: string) {
    this.#root = root
  }

  /** Writes a new blob; a session directory it had to create for it is removed again if the write fails. */
  async put(sessionId: string, bytes: Uint8Array): Promise<BlobRef> {
    const {created, directory} = this.#createSessionDirectory(sessionId)
    const blob = ulid()
    try {
      writeFileAtomic(join(directory, blob), bytes)
    } catch (error) {
      if (created) removeEmptyDirectory(directory)
      throw error
    }
    return {blob, bytes: bytes.length, sha256: sha256(bytes)}
  }

  async get(sessionId: string, ref: BlobRef): Promise<Uint8Array> {
    const path = join(this.#sessionDirectory(sessionId), ref.blob)
    let stored: Uint8Array
    try {
      stored = readRegularFile(path)
    } catch (error) {
      const failure = toStorageError(error, `read ${path}`, path)
      throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? new StorageError(failure.message, {cause: error, hint: DAMAGED_HINT}) : failure
    }
    return checkedContent(path, stored, ref)
  }

  async delete(sessionId: string, blob: string): Promise<void> {
    if (!this.#exists(sessionId)) return
    const directory = this.#sessionDirectory(sessionId)
    try {
      unlinkSync(join(directory, blob))
      fsyncDirectory(directory)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw toStorageError(error, `delete blob ${blob}`, directory)
    }
  }

  async deleteSession(sessionId: string): Promise<void> {
    if (!this.#exists(sessionId)) return
    const directory = this.#sessionDirectory(sessionId)
    try {
      rmSync(directory, {force: true, recursive: true})
      fsyncDirectory(this.#root)
    } catch (error) {
      throw toStorageError(error, `delete blobs of ${sessionId}`, directory)
    }
  }

  /** Whether anything (directory, or a symlink in its place) stands at the session's blob path. */
  #exists(sessionId: string): boolean {
    return lstatSync(this.#sessionPath(sessionId), {throwIfNoEntry: false}) !== undefined
  }

  /** Where a session's blobs go; only ever built from a session id sess generated. */
  #sessionPath(sessionId: string): string {
    if (!isSessionId(sessionId)) throw new StorageError(`Not a session id: ${JSON.stringify(sessionId)}`)
    return join(this.#root, sessionId)
  }

  /** The directory of a session's blobs, checked with `lstat` to be a real directory, as is the root, so that no symlink in the store is ever followed. */
  #sessionDirectory(sessionId: string): string {
    const directory = this.#sessionPath(sessionId)
    try {
      assertRealDirectory(this.#root)
      assertRealDirectory(directory)
    } catch (error) {
      throw toStorageError(error, `open ${directory}`, directory)
    }
    return directory
  }

  /** The directory of a session's blobs, created (durably) if missing, and whether this call created it; checked as {@link #sessionDirectory} checks it. */
  #createSessionDirectory(sessionId: string): {directory: string; created: boolean} {
    const directory = this.#sessionPath(sessionId)
    try {
      ensureDirectory(this.#root)
      return {created: ensureDirectory(directory), directory}
    } catch (error) {
      throw toStorageError(error, `create ${directory}`, directory)
    }
  }
}

/**
 * Creates `directory` (0700) if missing, durably (its parent fsynced); refuses a symlink or
 * non-directory in its place. When the parent's fsync fails, the new directory is removed again,
 * so that the next attempt creates it and fsyncs its parent once more, rather than finding it and
 * taking it for durable.
 *
 * @returns whether it created the directory.
 */
function ensureDirectory(directory: string): boolean {
  try {
    mkdirSync(directory, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    assertRealDirectory(directory)
    return false
  }
  try {
    fsyncDirectory(join(directory, '..'))
  } catch (error) {
    removeEmptyDirectory(directory)
    throw error
  }
  return true
}

/** Removes `directory` if it is empty; a failure is ignored (the error being reported is another). */
function removeEmptyDirectory(directory: string): void {
  try {
    rmdirSync(directory)
  } catch {
    // left for gc and doctor, which report a directory that no session owns
  }
}

function assertRealDirectory(directory: string): void {
  const stat = lstatSync(directory)
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new StorageError(`${directory} is not a directory (a symlink or file stands in its place).`, {
      hint: 'sess never follows symlinks in its store; move it away and retry.',
    })
  }
}
