import type {Kysely} from 'kysely'
import ms from 'ms'
import type {Database} from '../db/schema.ts'
import {LockError} from '../errors/index.ts'
import type {StoreContext} from '../store/context.ts'
import {describeHolder, sessionName} from './describe.ts'
import {type LockRow, readLockForWrite} from './table.ts'
import type {LeaseRef} from './token.ts'

/**
 * Thrown inside a write transaction when another lease holds the session's lock and the writer
 * holds none: the store rolls back, waits for the lock to come free (or proves its holder dead)
 * and runs the write again. It leaves the store only when that wait times out.
 */
export class LockBusyError extends LockError {
  /** The lock row as the write saw it. */
  readonly row: LockRow
  constructor(row: LockRow) {
    super(`Session ${row.session_id} is locked (fencing token ${row.token}).`)
    this.row = row
  }
}

/**
 * The fencing check every write to a session runs inside its transaction, before it changes
 * anything (DESIGN §7):
 * - a store that holds a lease on the session (its own grant, or a token adopted from
 *   `SESS_LOCK_TOKEN`) may write only while that lease is the current one and unexpired;
 * - any other writer may write only while no unexpired lease holds the lock.
 *
 * No lease can be granted between this check and the commit of `trx` (see `readLockForWrite`).
 *
 * @throws {LockError} when this store's lease was lost: taken over, released or expired.
 * @throws {LockBusyError} when another lease holds the lock.
 */
export async function checkFence(ctx: StoreContext, trx: Kysely<Database>, sessionId: string): Promise<void> {
  const row = await readLockForWrite(ctx, trx, sessionId)
  const now = ctx.now()
  const own = ctx.leases.get(sessionId)
  if (own) {
    if (row && row.lease_id === own.leaseId && Number(row.token) === own.token && Number(row.expires_at) > now) return
    throw await leaseLost(trx, own, row, now)
  }
  if (!row || row.lease_id === null || Number(row.expires_at) <= now) return
  throw new LockBusyError(row)
}

/** The error for a write under lease `own` that no longer holds the lock (`row` as it is now). */
async function leaseLost(trx: Kysely<Database>, own: LeaseRef, row: LockRow | undefined, now: number): Promise<LockError> {
  const name = await sessionName(trx, own.sessionId)
  const token = Number(row?.token ?? 0)
  const why =
    !row || token < own.token
      ? 'the lease is unknown to this store'
      : token > own.token
        ? `the lock was taken over since (now fencing token ${token}${row.lease_id === null ? ', free' : `, held by ${describeHolder(row)}`})`
        : row.lease_id === null
          ? 'the lease was released'
          : row.lease_id !== own.leaseId
            ? 'the lease is unknown to this store'
            : `the lease expired ${ms(Math.max(0, now - Number(row.expires_at)))} ago without renewal`
  return new LockError(`Refused to write to session ${name}: this process's lease (fencing token ${own.token}) no longer holds its lock: ${why}. Nothing was written.`, {
    hint: 'Take the lock again and redo the work from the session as it is now; it may have changed meanwhile.',
  })
}
