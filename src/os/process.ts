import {readFileSync} from 'node:fs'
import type {LockHolder, SessionOwner} from '../session/types.ts'
import {hostId} from './host.ts'

/** What the kernel says of a process: its state letter and start time. */
export interface ProcessStat {
  /** proc(5) field 3: `R` running, `S` sleeping, `T` stopped, `Z` zombie (exited, not yet reaped)… */
  state: string
  /** proc(5) field 4: the parent's pid. */
  ppid: number
  /** proc(5) field 22: start time in clock ticks since boot, as a decimal string. */
  startTime: string
  /** proc(5) field 6: the session id (the pid of the session leader, e.g. the terminal's shell). */
  session: number
  /** proc(5) field 7: the controlling terminal's device number; 0 when there is none. */
  ttyNr: number
}

/**
 * `/proc/<pid>/stat` of process `pid`, parsed after the last `)`: the command name (field 2) may
 * itself hold spaces and parentheses (proc(5)). `null` when unreadable (no such pid, not Linux).
 */
export function processStat(pid: number): ProcessStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields[0] is field 3
    const startTime = fields[19]
    return fields[0] && startTime ? {ppid: Number(fields[1]), session: Number(fields[3]), startTime, state: fields[0], ttyNr: Number(fields[4])} : null
  } catch {
    return null
  }
}

/** Start time of process `pid` (see {@link processStat}), or `null` when unreadable. */
export function processStartTime(pid: number): string | null {
  return processStat(pid)?.startTime ?? null
}

/** The command line of process `pid` (`/proc/<pid>/cmdline`), or `[]` when unreadable. */
export function processArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg, index, all) => arg !== '' || index < all.length - 1)
  } catch {
    return []
  }
}

let cachedBootId: string | null | undefined

/** This boot's id (`/proc/sys/kernel/random/boot_id`, random per boot), or `null` when unreadable. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null
    } catch {
      cachedBootId = null
    }
  }
  return cachedBootId
}

/**
 * The calling process as a session owner: host identity, pid and start time.
 *
 * @throws {InvalidInputError} when `$SESS_HOST_ID` is invalid (see `hostId`).
 */
export function currentOwner(): SessionOwner {
  const {host, pid, startTime} = lockHolder()
  return {host, pid, startTime}
}

/**
 * Process `pid` of this host (default: the calling process) as a lock holder: host identity (see
 * `hostId`), pid, start time and boot id, which together tell a live holder from a dead one whose
 * pid was reused.
 *
 * @throws {InvalidInputError} when `$SESS_HOST_ID` is invalid.
 */
export function lockHolder(pid = process.pid): LockHolder {
  if (pid !== process.pid) return {bootId: bootId(), host: hostId(), pid, startTime: processStartTime(pid)}
  ownHolder ??= Object.freeze({bootId: bootId(), host: hostId(), pid, startTime: processStartTime(pid)})
  return ownHolder
}

let ownHolder: LockHolder | undefined
