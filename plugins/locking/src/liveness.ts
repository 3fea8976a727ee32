import {hostId} from '../../../src/os/host.ts'
import {bootId, processStat} from '../../../src/os/process.ts'
import type {LockHolder} from '../../../src/session/types.ts'

/**
 * Why lock holder `holder` is provably dead, or `undefined` when it may be alive.
 *
 * Proof exists only on the holder's own host, the one whose identity (`hostId`: `$SESS_HOST_ID`,
 * else the machine id and pid namespace) it recorded; a holder on another host, whose pids and
 * boots mean nothing here, ends by its lease's expiry alone. On its own host:
 * - this host booted since (a different `/proc/sys/kernel/random/boot_id`);
 * - no process has its pid (`kill(pid, 0)` fails with ESRCH);
 * - its pid runs a process started at another time (`/proc/<pid>/stat` field 22): the pid was reused;
 * - its process has exited and awaits reaping (state `Z` zombie, or `X`).
 *
 * Anything that cannot be read counts as alive: a lock is never taken from a holder that might
 * still be writing.
 */
export function proofOfDeath(holder: LockHolder): string | undefined {
  if (holder.host !== hostId()) return undefined
  const boot = bootId()
  if (holder.bootId !== null && boot !== null && holder.bootId !== boot) return `its holder (pid ${holder.pid}) ran before this host rebooted`
  if (!processExists(holder.pid)) return `its holder (pid ${holder.pid}) is gone`
  const stat = processStat(holder.pid)
  if (stat === null) return undefined
  if (holder.startTime !== null && stat.startTime !== holder.startTime) return `its holder (pid ${holder.pid}) is gone; that pid now belongs to a process started later`
  if (stat.state === 'Z' || stat.state === 'X') return `its holder (pid ${holder.pid}) has exited`
  return undefined
}

/** Whether a process `pid` exists (signal 0: checked, not sent). EPERM means it exists under another user. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}
