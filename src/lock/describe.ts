import type {Kysely} from 'kysely'
import ms from 'ms'
import type {Database} from '../db/schema.ts'
import {LockError} from '../errors/index.ts'
import type {LockHolder} from '../session/types.ts'
import {holderOf, type LockRow} from './table.ts'

/** `pid 4242 on host build-7`: a lock holder in a message. */
export function describeHolder(holder: LockHolder | LockRow): string {
  const {host, pid} = 'session_id' in holder ? holderOf(holder) : holder
  return `pid ${pid} on host ${host}`
}

/** `held for 3s, lease expires in 27s`: the age and lease of a held lock, at `now`. */
export function describeLease(row: LockRow, now: number): string {
  return `held for ${ms(Math.max(0, now - Number(row.acquired_at)))}, lease ${describeExpiry(Number(row.expires_at), now)}`
}

/** `expires in 27s` or `expired 3s ago`: a lease ending at `expiresAt`, seen at `now` (ms since the epoch). */
export function describeExpiry(expiresAt: number, now: number): string {
  const left = expiresAt - now
  return left > 0 ? `expires in ${ms(left)}` : `expired ${ms(-left)} ago`
}

/** The name of session `sessionId`, read on `executor`, for a message (its id when it is gone). */
export async function sessionName(executor: Kysely<Database>, sessionId: string): Promise<string> {
  const session = await executor.selectFrom('sessions').select('name').where('id', '=', sessionId).executeTakeFirst()
  return session?.name ?? sessionId
}

/** The error for lease `token` of session `name` that no longer holds its lock, and `why`. */
export function leaseNotHeld(name: string, token: number, why: string): LockError {
  return new LockError(`The lease on session ${name} (fencing token ${token}) no longer holds its lock: ${why}.`, {
    hint: 'Take the lock again (sess lock acquire, or store.lock) and redo the work from the session as it is now.',
  })
}
