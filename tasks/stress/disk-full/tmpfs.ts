import {mkdirSync, statfsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/** Size of the tmpfs the disk-full suite mounts, in bytes: small enough to fill in a moment. */
export const TMPFS_BYTES = 4 * 1024 * 1024

/** The file that fills the disk, beside the store: what deleting frees space. */
export const FILLER = 'filler'

/**
 * Mounts a tmpfs of `bytes` on `dir` (made if missing; mount(8) `-t tmpfs -o size=`), runs
 * `work`, and unmounts it whatever happened (umount(8); lazily, and then reported, when still busy).
 *
 * @throws an `Error` saying why when the tmpfs cannot be mounted (not root, no permission) or was
 *   still busy at the end (something left a descriptor open on it).
 */
export async function withTmpfs<T>(dir: string, bytes: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, {recursive: true})
  const mount = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir])
  if (mount.exitCode !== 0) throw new Error(`cannot mount a tmpfs on ${dir}: ${mount.stderr.toString().trim() || `mount exited ${mount.exitCode}`}`)
  let outcome: {value: T} | {error: unknown}
  try {
    outcome = {value: await work()}
  } catch (error) {
    outcome = {error}
  }
  const umount = Bun.spawnSync(['umount', dir])
  if (umount.exitCode !== 0) {
    Bun.spawnSync(['umount', '-l', dir])
    const before = 'error' in outcome ? `; before that: ${(outcome.error as Error).message}` : ''
    throw new Error(`the tmpfs on ${dir} was still busy (${umount.stderr.toString().trim()}), so it was unmounted lazily${before}`)
  }
  if ('error' in outcome) throw outcome.error
  return outcome.value
}

/** Bytes free on the file system holding `dir` (statfs(2) `f_bavail × f_bsize`). */
export function freeBytes(dir: string): number {
  const fs = statfsSync(dir)
  return Number(fs.bavail) * Number(fs.bsize)
}

/** Writes {@link FILLER} in `dir` so that about `leave` bytes stay free on its disk (whole 4 KiB pages). */
export function fill(dir: string, leave: number): void {
  const size = Math.max(0, freeBytes(dir) - leave)
  writeFileSync(join(dir, FILLER), new Uint8Array(size - (size % 4096)))
}
