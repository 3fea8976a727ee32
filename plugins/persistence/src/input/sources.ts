import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidInputError, NotFoundError} from '../../../../src/errors/index.ts'
import {toStorageError} from '../blobs/atomic-write.ts'
import {readRegularFile} from '../blobs/read-file.ts'
import {decompressInput} from './decompress.ts'
import {inputTooLarge} from './limits.ts'

/** A file found under a directory given to `sess save`, or why it was passed over. */
export interface Candidate {
  path: string
  /** Why it is not read, if it is not. */
  skip?: string
}

/**
 * What a path given to `sess save` is. A symlink named on the command line is followed, as `cp`
 * and `cat` do: naming it is the user's choice.
 *
 * @throws {InvalidInputError} for a NUL byte in the path, or a FIFO, socket or device.
 * @throws {NotFoundError} when nothing is there.
 */
export function classifyInput(path: string): 'file' | 'directory' {
  if (path.includes('\0')) throw new InvalidInputError('The path contains a NUL byte.', {hint: 'Pass a plain file or directory path.'})
  const stat = statSync(path, {throwIfNoEntry: false})
  if (!stat) throw new NotFoundError(`No such file or directory: ${path}`, {hint: 'Check the path: give a session file, a directory of them, or - for stdin.'})
  if (stat.isDirectory()) return 'directory'
  if (stat.isFile()) return 'file'
  throw new InvalidInputError(`${path} is not a regular file or directory (a FIFO, socket or device).`, {
    hint: 'To save a stream, pipe it to `sess save -`.',
  })
}

/**
 * Reads a file to save, at most `limit` bytes (`save.maxBytes`), decompressed if it is compressed
 * (see {@link decompressInput}; the limit bounds the session it holds too).
 *
 * @param options.followSymlink true for a file named on the command line, false inside a directory walk.
 * @throws {InvalidInputError} when it is not a regular file, or a compressed one that does not
 *   decompress. @throws {LimitError} when it (or the session it holds) is longer than `limit`
 *   (having read nothing of it past the limit). @throws {StorageError} on an I/O error.
 */
export function readSource(path: string, options: {followSymlink: boolean; limit: number}): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = readRegularFile(path, options)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTREG') throw new InvalidInputError(`${path} is not a regular file.`, {hint: 'To save a stream, pipe it to `sess save -`.'})
    if (code === 'EFBIG') throw inputTooLarge(path, options.limit)
    throw toStorageError(error, `read ${path}`, path)
  }
  return decompressInput(bytes, path, options.limit)
}

/**
 * Reads `stream` (stdin, for `sess save -`) to its end, at most `limit` bytes, or until `signal`
 * aborts (then what was read so far); decompressed if it is compressed (see {@link decompressInput}).
 * A stream that never ends (`/dev/zero`, `yes |`) is read no further than one chunk past the limit.
 *
 * @throws {LimitError} when it (or the session it holds) holds more than `limit` bytes.
 * @throws {InvalidInputError} when it starts like a compressed stream but does not decompress.
 */
export async function readStream(stream: ReadableStream<Uint8Array>, limit: number, signal: AbortSignal): Promise<Uint8Array> {
  const reader = stream.getReader()
  const stop = () => void reader.cancel().catch(() => undefined)
  signal.addEventListener('abort', stop, {once: true})
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    while (!signal.aborted) {
      const {done, value} = await reader.read()
      if (done) break
      chunks.push(value)
      total += value.length
      if (total > limit) throw inputTooLarge('stdin', limit)
    }
  } finally {
    signal.removeEventListener('abort', stop)
    stop()
  }
  return decompressInput(Buffer.concat(chunks, total), 'stdin', limit)
}

/**
 * Every regular file under `root`, depth first in name order (so runs are reproducible).
 * Symlinks and special files are passed over with the reason, and so are hidden entries (`.git`…).
 */
export function* walkDirectory(root: string): Generator<Candidate> {
  let entries
  try {
    entries = readdirSync(root, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  } catch (error) {
    yield {path: root, skip: `cannot read the directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`}
    return
  }
  for (const entry of entries) {
    const path = join(root, entry.name)
    if (entry.name.startsWith('.')) continue
    if (entry.isSymbolicLink()) yield {path, skip: 'symlink (not followed inside a directory)'}
    else if (entry.isDirectory()) yield* walkDirectory(path)
    else if (entry.isFile()) yield {path}
    else yield {path, skip: 'not a regular file'}
  }
}
