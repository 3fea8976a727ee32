import {randomBytes} from 'node:crypto'
import {closeSync, constants, fstatSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {ConflictError, type DiskFullError, StorageError} from '../../../../src/errors/index.ts'
import {diskFullError, isDiskFull} from '../../../../src/os/disk-space.ts'
import {fsyncDirectory} from '../../../../src/os/fsync-directory.ts'
import {writeAll} from '../../../../src/os/write-all.ts'

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Replace an existing file (default `false`: refuse with {@link ConflictError}). */
  overwrite?: boolean
  /** Mode of the new file (default 0o600). */
  mode?: number
}

/** How many temp names {@link writeFileAtomic} tries before it gives up: glibc's `mkstemp` tries `TMP_MAX` (238,328); a name taken this often is planted, not chance. */
const TEMP_ATTEMPTS = 16

/**
 * Writes `bytes` to `path` so that after a crash at any instant the file is either the old one
 * (or absent) or wholly the new one (DESIGN §7): a temp file in the same directory, named
 * `.<name>.tmp-<12 random hex digits>` and created `O_CREAT|O_EXCL|O_NOFOLLOW` with `mode` (so
 * never through a symlink, nor into a file that was already there: a taken name is passed over
 * for another, as `mkstemp(3)` does); a full write loop (short writes continue, a zero-byte write
 * fails); fsync; a check that the file holds `bytes.length` bytes (a write that claimed bytes it
 * never wrote would leave it short); rename (or link, when not overwriting, so an existing file is
 * never clobbered); fsync of the directory. On any failure the temp file is removed. Without
 * `overwrite`, so is the new file if it was already linked (the directory's fsync failed), so
 * that `path` is as before; with `overwrite`, a failure after the rename leaves the new file in
 * place, of unknown durability. A file it could not remove (the disk refusing deletes too) is
 * named in the error. An fsync failure is reported, never retried (the page cache may have
 * dropped the data: see PostgreSQL's "fsyncgate", 2018).
 *
 * @throws {ConflictError} when `path` exists and `overwrite` is not set.
 * @throws {StorageError} on any I/O error (ENOSPC, EIO, EROFS…), with the errno code in the
 *   message; or when {@link TEMP_ATTEMPTS} temp names in a row were taken.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): void {
  const directory = dirname(path)
  let temp: string | undefined
  let fd: number | undefined
  let linked = false
  try {
    ;({fd, path: temp} = createTemp(directory, basename(path), options.mode ?? 0o600))
    writeAll(fd, bytes)
    fsyncSync(fd)
    const written = fstatSync(fd).size
    if (written !== bytes.length) throw Object.assign(new Error(`the file holds ${written} bytes of the ${bytes.length} written`), {code: 'EIO'})
    closeSync(fd)
    fd = undefined
    if (options.overwrite) {
      renameSync(temp, path)
    } else {
      linkSync(temp, path) // fails with EEXIST instead of replacing
      linked = true
      unlinkSync(temp)
    }
    fsyncDirectory(directory)
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd)
    const left = [...(temp === undefined ? [] : [temp]), ...(linked ? [path] : [])].filter((file) => !removed(file))
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && !options.overwrite) {
      throw new ConflictError(`${path} already exists.`, {hint: 'Pass --force to replace it, or choose another path.'})
    }
    const failure = toStorageError(error, `write ${path}`, path)
    if (left.length === 0) throw failure
    throw new StorageError(`${failure.message}; and could not delete ${left.join(' nor ')}, left behind`, {cause: error, hint: failure.hint})
  }
}

/**
 * Creates a new temp file for `name` in `directory` (see {@link writeFileAtomic}), trying another
 * random name while the one drawn is taken (by anything: a file, a symlink, a directory).
 *
 * @returns its open descriptor (write only) and path.
 * @throws the `open` error other than EEXIST; a {@link StorageError} after {@link TEMP_ATTEMPTS} taken names.
 */
function createTemp(directory: string, name: string, mode: number): {fd: number; path: string} {
  for (let attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
    const path = join(directory, `.${name}.tmp-${randomBytes(6).toString('hex')}`)
    try {
      return {fd: openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode), path}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  throw new StorageError(`Could not create a temp file for ${join(directory, name)}: ${TEMP_ATTEMPTS} random names in a row were taken.`, {
    hint: `Something is planting files in ${directory}; check who else writes there (sess doctor lists temp files and symlinks in the store).`,
  })
}

/**
 * Wraps an I/O error as a {@link StorageError} naming the operation and errno: a full disk or
 * spent quota (`ENOSPC`, `EDQUOT`) as a {@link DiskFullError} naming the disk holding `path`.
 *
 * @param path the file or directory the operation was on.
 */
export function toStorageError(error: unknown, operation: string, path: string): StorageError {
  if (error instanceof StorageError) return error
  if (isDiskFull(error)) return diskFullError(path, error)
  const code = (error as NodeJS.ErrnoException).code
  const hints: Record<string, string> = {
    EACCES: 'Check the permissions of the directory.',
    EIO: 'The disk reported an I/O error: check it (dmesg) before retrying.',
    ELOOP: 'A symlink stands where a file was expected; sess never follows symlinks in its store.',
    EROFS: 'The file system is read-only.',
  }
  return new StorageError(`Could not ${operation}: ${(error as Error).message}`, {
    cause: error,
    hint: code ? hints[code] : undefined,
  })
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already failing; the original error is what matters
  }
}

/** Deletes `path`; @returns whether it is gone (deleted, or not there), `false` when the delete failed. */
function removed(path: string): boolean {
  try {
    unlinkSync(path)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT'
  }
}
