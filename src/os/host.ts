import {readFileSync, readlinkSync} from 'node:fs'
import {hostname} from 'node:os'
import {InvalidInputError} from '../errors/index.ts'

/** The environment variable that names this host for sess (see {@link hostId}). */
export const HOST_ID_ENV = 'SESS_HOST_ID'

/** `/proc/self/ns/pid` outside any container: the initial pid namespace's inode is the kernel's constant PROC_PID_INIT_INO (include/linux/proc_ns.h). */
const INITIAL_PID_NAMESPACE = 'pid:[4026531836]'

/** A machine id as machine-id(5) defines it: 32 lowercase hex digits (anything else, e.g. `uninitialized`, is none). */
const MACHINE_ID = /^[0-9a-f]{32}$/

/** A host id given in {@link HOST_ID_ENV}: 1 to 255 visible ASCII characters. */
const GIVEN_ID = /^[\x21-\x7e]{1,255}$/

/** What a host's identity is made of (see {@link hostIdentity}). */
export interface HostFacts {
  /** `$SESS_HOST_ID`, if set. */
  given: string | undefined
  /** The contents of `/etc/machine-id`, or `null` when unreadable. */
  machineId: string | null
  /** The host name (`os.hostname()`). */
  hostname: string
  /** The target of `/proc/self/ns/pid` (`pid:[<inode>]`), or `null` when unreadable. */
  pidNamespace: string | null
}

/**
 * The identity of the host described by `facts`: who may judge a lock holder or session owner
 * by its pid. Processes with the same identity see one another's pids; a holder with another
 * identity is never proven dead by pid, start time or boot id, only by its lease's expiry.
 *
 * - `given` (from `$SESS_HOST_ID`, trimmed) when set: for containers and tests;
 * - else the machine id (machine-id(5): stable across boots, unique per installation), or the
 *   host name where there is none;
 * - followed by `/pidns:<inode>` when the process runs in a pid namespace of its own (a
 *   container): its pids mean nothing outside it, even on a host that shares its machine id.
 *
 * @throws {InvalidInputError} when `given` is set but is not 1 to 255 visible ASCII characters.
 */
export function hostIdentity(facts: HostFacts): string {
  const given = facts.given?.trim()
  if (given !== undefined && given !== '') {
    if (!GIVEN_ID.test(given)) {
      throw new InvalidInputError(`${HOST_ID_ENV} must be 1 to 255 visible ASCII characters without spaces, not ${JSON.stringify(given.slice(0, 80))}.`, {
        hint: `Set ${HOST_ID_ENV} to a name no other host that shares the store uses (e.g. this machine's hostname), or unset it.`,
      })
    }
    return given
  }
  const machineId = facts.machineId?.trim() ?? ''
  const base = MACHINE_ID.test(machineId) ? machineId : facts.hostname
  const namespace = facts.pidNamespace === null || facts.pidNamespace === INITIAL_PID_NAMESPACE ? null : /^pid:\[(\d+)\]$/.exec(facts.pidNamespace)?.[1]
  return namespace ? `${base}/pidns:${namespace}` : base
}

let cached: string | undefined

/**
 * This host's identity ({@link hostIdentity} of this process's facts), as lock rows
 * (`holder_host`) and session owners (`owner_host`) record it. Read once per process.
 *
 * @throws {InvalidInputError} when `$SESS_HOST_ID` is invalid.
 */
export function hostId(): string {
  cached ??= hostIdentity({given: process.env[HOST_ID_ENV], hostname: hostname(), machineId: readOrNull(() => readFileSync('/etc/machine-id', 'latin1')), pidNamespace: readOrNull(() => readlinkSync('/proc/self/ns/pid'))})
  return cached
}

function readOrNull(read: () => string): string | null {
  try {
    return read()
  } catch {
    return null
  }
}
