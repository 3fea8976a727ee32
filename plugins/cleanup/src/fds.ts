import {readdirSync, readlinkSync} from 'node:fs'
import {sep} from 'node:path'

/**
 * The file descriptors of the calling process open on something inside `dir` (from
 * `/proc/self/fd`): fd number → target path. `null` where `/proc` cannot be read (not Linux).
 */
export function ownDescriptorsUnder(dir: string): Map<number, string> | null {
  let fds: string[]
  try {
    fds = readdirSync('/proc/self/fd')
  } catch {
    return null
  }
  const open = new Map<number, string>()
  for (const fd of fds) {
    const target = readTarget(`/proc/self/fd/${fd}`)
    if (target !== undefined && isUnder(target, dir)) open.set(Number(fd), target)
  }
  return open
}

/**
 * The descriptors of `before` that were not open then but are now, inside `dir`: what a run
 * leaked (or still holds). Empty where `/proc` cannot be read.
 */
export function leakedDescriptors(before: Map<number, string> | null, dir: string): {fd: number; target: string}[] {
  if (before === null) return []
  const after = ownDescriptorsUnder(dir)
  if (after === null) return []
  return [...after].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => ({fd, target}))
}

/** Whether `path` is `dir` or inside it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

function readTarget(link: string): string | undefined {
  try {
    return readlinkSync(link)
  } catch {
    return undefined // closed meanwhile (e.g. the fd of readdir itself)
  }
}
