import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import type {SessionOwner} from '../session/types.ts'

/**
 * Start time of process `pid`, as the kernel reports it: field 22 of `/proc/<pid>/stat`, in clock
 * ticks since boot (proc(5)). Fields are counted after the last `)`, since the command name
 * (field 2) may itself hold spaces and parentheses. `null` when unreadable (not Linux, no such pid).
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ?? null // field 22; fields[0] is field 3
  } catch {
    return null
  }
}

/** The calling process as a session owner: host name, pid and start time. */
export function currentOwner(): SessionOwner {
  return {host: hostname(), pid: process.pid, startTime: processStartTime(process.pid)}
}
