import {dlopen, FFIType, read} from 'bun:ffi'
import {closeSync, constants, openSync} from 'node:fs'
import {StorageError} from '../errors/index.ts'

const LOCK_SH = 1
const LOCK_EX = 2
const LOCK_NB = 4
const EWOULDBLOCK = 11
const EINTR = 4

let libc: ReturnType<typeof loadLibc> | undefined

function loadLibc() {
  return dlopen('libc.so.6', {
    __errno_location: {args: [], returns: FFIType.ptr},
    flock: {args: [FFIType.i32, FFIType.i32], returns: FFIType.i32},
  }).symbols
}

function errno(): number {
  const pointer = libc!.__errno_location()
  return pointer === null ? 0 : read.i32(pointer, 0)
}

/** A flock(2) held on an open lock file (exclusive, or shared); released by closing it. */
export interface FileLock extends Disposable {
  /** Closes the file, which releases the lock. Idempotent. */
  release(): void
}

/**
 * Takes an exclusive (or with `shared`, a shared) `flock(2)` on `path` (created 0600 if missing, never followed if a symlink).
 * The kernel releases it when the process dies, so a crash never leaves it held. The file is
 * never deleted (deleting a flock file races with its next holder).
 *
 * @param options.wait `true` blocks until granted; `false` returns `undefined` at once when held elsewhere.
 * @param options.shared take a shared lock: many holders at once, none while an exclusive one is held.
 * @throws {StorageError} when the file cannot be opened or flock fails for another reason.
 * @example
 * ```ts
 * using lock = lockFile(join(home, 'migrate.lock'), {wait: true})
 * ```
 */
export function lockFile(path: string, options: {wait: true; shared?: boolean}): FileLock
export function lockFile(path: string, options: {wait: false; shared?: boolean}): FileLock | undefined
export function lockFile(path: string, options: {wait: boolean; shared?: boolean}): FileLock | undefined {
  libc ??= loadLibc()
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new StorageError(`Cannot open lock file ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: code === 'ELOOP' ? 'A symlink stands in its place; sess never follows symlinks in its store. Move it away.' : 'Check that the store directory and its files are yours and writable.',
    })
  }
  for (;;) {
    const mode = options.shared ? LOCK_SH : LOCK_EX
    if (libc.flock(fd, options.wait ? mode : mode | LOCK_NB) === 0) break
    const code = errno()
    if (code === EINTR) continue
    closeSync(fd)
    if (code === EWOULDBLOCK && !options.wait) return undefined
    throw new StorageError(`flock(${path}) failed with errno ${code}`, {hint: 'Check the file system the store is on: it must support flock(2) (a local disk, not every network file system does).'})
  }
  let open = true
  const release = () => {
    if (!open) return
    open = false
    closeSync(fd)
  }
  return {release, [Symbol.dispose]: release}
}
