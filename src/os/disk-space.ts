import {statfsSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {formatBytes} from '../cli/units.ts'
import {DiskFullError} from '../errors/index.ts'

/**
 * Whether `error` says that a disk is full: a system call's `ENOSPC` or `EDQUOT` (errno(3)), or
 * SQLite's `SQLITE_FULL` (https://www.sqlite.org/rescode.html#full), as bun:sqlite sets `code`.
 */
export function isDiskFull(error: unknown): boolean {
  const code = (error as {code?: unknown} | null)?.code
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL'
}

/**
 * The file system holding `path` (or, when it does not exist, its nearest existing ancestor):
 * its mount point, the highest ancestor on the same device (stat(2) `st_dev`), and the bytes free
 * there for an unprivileged user (statfs(2) `f_bavail × f_bsize`; `null` when that fails).
 */
export function diskOf(path: string): {mountPoint: string; freeBytes: number | null} {
  let here = resolve(path)
  let stat = statSync(here, {throwIfNoEntry: false})
  while (!stat && dirname(here) !== here) {
    here = dirname(here)
    stat = statSync(here, {throwIfNoEntry: false})
  }
  let freeBytes: number | null = null
  try {
    const fs = statfsSync(here)
    freeBytes = Number(fs.bavail) * Number(fs.bsize)
  } catch {
    // unknown
  }
  while (stat && dirname(here) !== here) {
    const parent = statSync(dirname(here), {throwIfNoEntry: false})
    if (!parent || parent.dev !== stat.dev) break
    here = dirname(here)
  }
  return {freeBytes, mountPoint: here}
}

/**
 * `cause`, an error that {@link isDiskFull} recognises from writing at `path`, as a
 * {@link DiskFullError} naming the mount point and the space left there.
 */
export function diskFullError(path: string, cause: unknown): DiskFullError {
  const {freeBytes, mountPoint} = diskOf(path)
  const quota = (cause as {code?: unknown}).code === 'EDQUOT'
  return new DiskFullError({free: freeBytes === null ? null : formatBytes(freeBytes), freeBytes, mountPoint, path, quota}, {cause})
}
