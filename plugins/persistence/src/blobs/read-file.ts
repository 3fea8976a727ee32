import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'

/** Options of {@link readRegularFile}. */
export interface ReadFileOptions {
  /** Open through a symlink (default `false`: `O_NOFOLLOW`). */
  followSymlink?: boolean
  /** Most bytes to read: a file longer than this (as `fstat` says, or as it grows while read) is refused, having read at most one chunk past it. Default: no limit. */
  limit?: number
}

/**
 * Reads a whole regular file through one descriptor: opened `O_NONBLOCK` (so a FIFO cannot block
 * the open) and, unless `followSymlink`, `O_NOFOLLOW`; then checked with fstat to be a regular
 * file (and no longer than `limit`), then read to its end.
 *
 * @throws the `open`/`read` error (ELOOP for a symlink), an `Error` with code `ENOTREG` for a
 *   FIFO, socket, device or directory, or one with code `EFBIG` for a file longer than `limit`.
 */
export function readRegularFile(path: string, options: ReadFileOptions = {}): Uint8Array {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlink ? 0 : constants.O_NOFOLLOW)
  const limit = options.limit ?? Number.POSITIVE_INFINITY
  const tooLarge = () => Object.assign(new Error(`${path} is longer than ${limit} bytes`), {code: 'EFBIG'})
  const fd = openSync(path, flags)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), {code: 'ENOTREG'})
    if (stat.size > limit) throw tooLarge()
    const chunks: Uint8Array[] = []
    let total = 0
    for (;;) {
      const chunk = new Uint8Array(Math.max(65_536, stat.size - total + 1))
      const read = readSync(fd, chunk, 0, chunk.length, null)
      if (read === 0) break
      chunks.push(chunk.subarray(0, read))
      total += read
      if (total > limit) throw tooLarge()
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
  } finally {
    closeSync(fd)
  }
}
