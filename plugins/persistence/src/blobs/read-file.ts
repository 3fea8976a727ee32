import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'

/**
 * Reads a whole regular file through one descriptor: opened `O_NONBLOCK` (so a FIFO cannot block
 * the open) and, unless `followSymlink`, `O_NOFOLLOW`; then checked with fstat to be a regular
 * file, then read to its end.
 *
 * @throws the `open`/`read` error (ELOOP for a symlink), or an `Error` with code `ENOTREG` for a
 *   FIFO, socket, device or directory.
 */
export function readRegularFile(path: string, options: {followSymlink?: boolean} = {}): Uint8Array {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlink ? 0 : constants.O_NOFOLLOW)
  const fd = openSync(path, flags)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), {code: 'ENOTREG'})
    const chunks: Uint8Array[] = []
    let total = 0
    for (;;) {
      const chunk = new Uint8Array(Math.max(65_536, stat.size - total + 1))
      const read = readSync(fd, chunk, 0, chunk.length, null)
      if (read === 0) break
      chunks.push(chunk.subarray(0, read))
      total += read
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
  } finally {
    closeSync(fd)
  }
}
