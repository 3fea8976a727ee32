import {writeSync} from 'node:fs'

/**
 * Writes all of `bytes` to `fd`, continuing after short writes and waiting out `EAGAIN` (a
 * non-blocking pipe or terminal that is full), so that nothing is dropped or reordered.
 *
 * @throws the write's own error; an `Error` with code `EIO` if a write returns 0 bytes.
 */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0
  while (offset < bytes.length) {
    let written: number
    try {
      written = writeSync(fd, bytes, offset, bytes.length - offset)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      Bun.sleepSync(1)
      continue
    }
    if (written <= 0) throw Object.assign(new Error('write returned 0 bytes'), {code: 'EIO'})
    offset += written
  }
}
